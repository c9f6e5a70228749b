/**
 * Produces a value that conforms to a JSON schema, standing in for a model constrained by Ollama's
 * grammar-based structured output. Deterministic: the same schema always gives the same value.
 */

type Schema = Record<string, unknown>;

const MAX_DEPTH = 12;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberAt(schema: Schema, key: string): number | undefined {
  const value = schema[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function resolveRef(ref: string, root: unknown): unknown {
  if (!ref.startsWith('#')) {
    return {};
  }
  let node: unknown = root;
  for (const raw of ref
    .slice(1)
    .split('/')
    .filter((part) => part !== '')) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isSchema(node)) {
      return {};
    }
    node = node[part];
  }
  return node ?? {};
}

function primaryType(schema: Schema): string | undefined {
  const type = schema['type'];
  if (typeof type === 'string') {
    return type;
  }
  if (Array.isArray(type)) {
    const nonNull = type.find((t) => t !== 'null');
    return typeof nonNull === 'string' ? nonNull : typeof type[0] === 'string' ? type[0] : undefined;
  }
  if (isSchema(schema['properties']) || Array.isArray(schema['required'])) {
    return 'object';
  }
  if (schema['items'] !== undefined || schema['prefixItems'] !== undefined) {
    return 'array';
  }
  if (schema['minimum'] !== undefined || schema['maximum'] !== undefined) {
    return 'number';
  }
  if (schema['minLength'] !== undefined || schema['maxLength'] !== undefined || schema['pattern'] !== undefined) {
    return 'string';
  }
  return undefined;
}

const FORMAT_SAMPLES: Record<string, string> = {
  'date-time': '2025-01-01T00:00:00Z',
  date: '2025-01-01',
  time: '12:00:00',
  email: 'user@example.com',
  uri: 'https://example.com',
  url: 'https://example.com',
  hostname: 'example.com',
  ipv4: '127.0.0.1',
  ipv6: '::1',
  uuid: '00000000-0000-4000-8000-000000000000',
};

function sampleString(schema: Schema, name: string, index: number): string {
  const format = schema['format'];
  if (typeof format === 'string' && FORMAT_SAMPLES[format] !== undefined) {
    return FORMAT_SAMPLES[format];
  }
  let value = `sample ${name || 'text'}${index > 0 ? ` ${index + 1}` : ''}`;
  const minLength = numberAt(schema, 'minLength') ?? 0;
  const maxLength = numberAt(schema, 'maxLength');
  while (value.length < minLength) {
    value += 'x';
  }
  if (maxLength !== undefined && value.length > maxLength) {
    value = value.slice(0, maxLength);
    // Keep distinct items distinct even when the length cap cuts off the index suffix.
    if (index > 0 && maxLength > 0) {
      value = value.slice(0, -1) + String.fromCharCode(97 + (index % 26));
    }
  }
  return value;
}

function sampleNumber(schema: Schema, integer: boolean, index: number): number {
  const minimum = numberAt(schema, 'minimum');
  const maximum = numberAt(schema, 'maximum');
  const exclusiveMinimum = numberAt(schema, 'exclusiveMinimum');
  const exclusiveMaximum = numberAt(schema, 'exclusiveMaximum');
  const step = integer ? 1 : 0.5;
  let lo = minimum;
  if (exclusiveMinimum !== undefined) {
    lo = integer ? Math.floor(exclusiveMinimum) + 1 : exclusiveMinimum + step;
  } else if (lo !== undefined && integer) {
    lo = Math.ceil(lo);
  }
  let hi = maximum;
  if (exclusiveMaximum !== undefined) {
    hi = integer ? Math.ceil(exclusiveMaximum) - 1 : exclusiveMaximum - step;
  } else if (hi !== undefined && integer) {
    hi = Math.floor(hi);
  }
  if (
    !integer &&
    lo !== undefined &&
    hi !== undefined &&
    exclusiveMinimum !== undefined &&
    exclusiveMaximum !== undefined
  ) {
    // Two exclusive bounds can be closer than one step: the midpoint is always inside.
    return (exclusiveMinimum + exclusiveMaximum) / 2;
  }
  let value = lo ?? (hi !== undefined ? Math.min(hi, integer ? 1 : 1.5) : integer ? 1 : 1.5);
  value += index * step;
  if (hi !== undefined && value > hi) {
    value = hi;
  }
  const multipleOf = numberAt(schema, 'multipleOf');
  if (multipleOf !== undefined && multipleOf > 0) {
    let aligned = Math.ceil(value / multipleOf) * multipleOf;
    if (hi !== undefined && aligned > hi) {
      aligned = Math.floor(hi / multipleOf) * multipleOf;
    }
    value = integer ? Math.round(aligned) : aligned;
  }
  return value;
}

function sampleArray(schema: Schema, root: unknown, depth: number, name: string): unknown[] {
  const minItems = numberAt(schema, 'minItems');
  const maxItems = numberAt(schema, 'maxItems');
  let count = Math.max(minItems ?? 1, 1);
  if (maxItems !== undefined) {
    count = Math.min(count, maxItems);
  }
  const prefix = Array.isArray(schema['prefixItems']) ? (schema['prefixItems'] as unknown[]) : [];
  const items = schema['items'];
  count = Math.max(count, Math.min(prefix.length, maxItems ?? prefix.length));
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const itemSchema = i < prefix.length ? prefix[i] : Array.isArray(items) ? (items[i] ?? {}) : (items ?? {});
    out.push(sample(itemSchema, root, depth + 1, name, i));
  }
  return out;
}

function sampleObject(schema: Schema, root: unknown, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const properties = isSchema(schema['properties']) ? schema['properties'] : {};
  for (const [key, propertySchema] of Object.entries(properties)) {
    out[key] = sample(propertySchema, root, depth + 1, key, 0);
  }
  const required = Array.isArray(schema['required']) ? schema['required'] : [];
  for (const key of required) {
    if (typeof key === 'string' && !(key in out)) {
      const extra = schema['additionalProperties'];
      out[key] = sample(isSchema(extra) ? extra : {}, root, depth + 1, key, 0);
    }
  }
  return out;
}

function sample(schemaValue: unknown, root: unknown, depth: number, name: string, index: number): unknown {
  if (!isSchema(schemaValue)) {
    return schemaValue === false ? null : `sample ${name || 'value'}`;
  }
  let schema = schemaValue;
  for (let hops = 0; typeof schema['$ref'] === 'string'; hops++) {
    if (depth > MAX_DEPTH || hops > MAX_DEPTH) {
      return null;
    }
    const target = resolveRef(schema['$ref'], root);
    const siblings: Schema = { ...schema };
    delete siblings['$ref'];
    schema = { ...(isSchema(target) ? target : {}), ...siblings };
  }
  if ('const' in schema) {
    return schema['const'];
  }
  const enumValues = schema['enum'];
  if (Array.isArray(enumValues) && enumValues.length > 0) {
    return enumValues[index % enumValues.length];
  }
  const allOf = schema['allOf'];
  if (Array.isArray(allOf) && allOf.length > 0) {
    const parts = allOf.map((part) => sample(part, root, depth + 1, name, index));
    if (parts.every((part) => isSchema(part))) {
      return Object.assign({}, ...parts, primaryType(schema) === 'object' ? sampleObject(schema, root, depth) : {});
    }
    return parts[0];
  }
  for (const key of ['anyOf', 'oneOf']) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      const preferred = options.find((option) => !(isSchema(option) && option['type'] === 'null')) ?? options[0];
      return sample(preferred, root, depth + 1, name, index);
    }
  }
  if (depth > MAX_DEPTH) {
    return null;
  }
  switch (primaryType(schema)) {
    case 'object':
      return sampleObject(schema, root, depth);
    case 'array':
      return sampleArray(schema, root, depth, name);
    case 'string':
      return sampleString(schema, name, index);
    case 'integer':
      return sampleNumber(schema, true, index);
    case 'number':
      return sampleNumber(schema, false, index);
    case 'boolean':
      return true;
    case 'null':
      return null;
    case undefined:
    default:
      return depth === 0 ? {} : `sample ${name || 'value'}`;
  }
}

/**
 * A value conforming to `schema` (objects get every declared and required property, numbers
 * respect their bounds, enums take their first value, arrays get minItems — at least one — items).
 */
export function sampleFromSchema(schema: unknown): unknown {
  return sample(schema, schema, 0, '', 0);
}
