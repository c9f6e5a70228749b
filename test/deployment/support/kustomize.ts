import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { readYamlDocuments } from './repository';

/** The fields of Kubernetes objects these tests read; everything else stays `unknown`. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface ImageOverride {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

interface Kustomization {
  kind?: string;
  resources?: string[];
  components?: string[];
  patches?: { path?: string }[];
  images?: ImageOverride[];
}

/** The kustomization fields this renderer implements; any other field fails loudly instead of being ignored. */
const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'components', 'patches', 'images']);

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNamedList(value: unknown): value is Plain[] {
  return Array.isArray(value) && value.every((item) => isPlain(item) && typeof item.name === 'string');
}

/**
 * A strategic merge as Kubernetes does it for the fields the manifests patch: maps merge key by key, lists
 * whose items have a `name` (containers, volumes, env, ports) merge by that name, other values are replaced.
 */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isPlain(base) && isPlain(patch)) {
    const merged: Plain = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) {
        delete merged[key];
      } else {
        merged[key] = strategicMerge(base[key], value);
      }
    }
    return merged;
  }
  if (isNamedList(base) && isNamedList(patch)) {
    const merged = [...base];
    for (const item of patch) {
      const index = merged.findIndex((existing) => existing.name === item.name);
      if (index === -1) {
        merged.push(item);
      } else {
        merged[index] = strategicMerge(merged[index], item) as Plain;
      }
    }
    return merged;
  }
  return patch;
}

/** `images:` as kustomize applies it: a container image whose name matches gets a new name, tag or digest. */
function overrideImage(image: string, overrides: ImageOverride[]): string {
  const [, name, reference = ''] = /^(.+?)((?::[^:/]+)?(?:@.+)?)$/.exec(image) ?? [image, image];
  const override = overrides.find((candidate) => candidate.name === name);
  if (!override) {
    return image;
  }
  const tag = override.digest ? `@${override.digest}` : override.newTag ? `:${override.newTag}` : reference;
  return `${override.newName ?? name}${tag}`;
}

function withImages(object: KubeObject, overrides: ImageOverride[]): KubeObject {
  const podSpec = (object.spec as { template?: { spec?: Record<string, Plain[] | undefined> } } | undefined)?.template
    ?.spec;
  if (!podSpec || overrides.length === 0) {
    return object;
  }
  for (const field of ['containers', 'initContainers']) {
    for (const container of podSpec[field] ?? []) {
      container.image = overrideImage(String(container.image), overrides);
    }
  }
  return object;
}

function sameObject(a: KubeObject, b: KubeObject): boolean {
  return a.kind === b.kind && a.metadata.name === b.metadata.name;
}

/**
 * Builds a kustomization the way `kubectl kustomize` does, for the features the manifests use
 * (resources, components, strategic-merge patches, `$patch: delete`), so the checks run where kubectl is not
 * installed.
 * @throws Error when the kustomization uses a feature this renderer does not implement, or a patch
 * targets an object that is not there.
 */
export function renderKustomization(dir: string): KubeObject[] {
  return build(dir, 'Kustomization', []);
}

/**
 * One kustomization directory. A Kustomization starts from nothing; a Component starts from the objects of
 * the kustomization that lists it, and its patches apply to those too. Order as in kustomize: resources,
 * then components, then patches, then images.
 */
function build(dir: string, expectedKind: 'Kustomization' | 'Component', inherited: KubeObject[]): KubeObject[] {
  const [kustomization] = readYamlDocuments(join(dir, 'kustomization.yaml')) as (Kustomization & Plain)[];
  const unsupported = Object.keys(kustomization).filter((field) => !SUPPORTED_FIELDS.has(field));
  if (unsupported.length > 0) {
    throw new Error(`${dir}/kustomization.yaml uses ${unsupported.join(', ')}, which this renderer does not implement`);
  }
  if ((kustomization.kind ?? 'Kustomization') !== expectedKind) {
    throw new Error(`${dir}/kustomization.yaml is a ${kustomization.kind}, where a ${expectedKind} is expected`);
  }
  let objects: KubeObject[] = [...inherited];
  for (const resource of kustomization.resources ?? []) {
    const path = resolve(dir, resource);
    if (statSync(path).isDirectory()) {
      objects.push(...build(path, 'Kustomization', []));
    } else {
      objects.push(...(readYamlDocuments(path) as KubeObject[]));
    }
  }
  for (const component of kustomization.components ?? []) {
    objects = build(resolve(dir, component), 'Component', objects);
  }
  for (const patch of kustomization.patches ?? []) {
    if (patch.path === undefined || Object.keys(patch).length !== 1) {
      throw new Error(`${dir}/kustomization.yaml: only patches given by a path are implemented`);
    }
    for (const document of readYamlDocuments(resolve(dir, patch.path)) as (KubeObject & { $patch?: string })[]) {
      const index = objects.findIndex((object) => sameObject(object, document));
      if (index === -1) {
        throw new Error(`${patch.path} patches ${document.kind}/${document.metadata.name}, which is not there`);
      }
      if (document.$patch === 'delete') {
        objects.splice(index, 1);
      } else {
        objects[index] = strategicMerge(objects[index], document) as KubeObject;
      }
    }
  }
  return objects.map((object) => withImages(object, kustomization.images ?? []));
}

/** Objects in a canonical order (lists of named items sorted by name), for comparing two renderings. */
export function canonical(objects: KubeObject[]): unknown[] {
  const normalise = (value: unknown): unknown => {
    if (isNamedList(value)) {
      return [...value].sort((a, b) => String(a.name).localeCompare(String(b.name))).map(normalise);
    }
    if (Array.isArray(value)) {
      return value.map(normalise);
    }
    if (isPlain(value)) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, normalise(item)]));
    }
    return value;
  };
  return [...objects]
    .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`))
    .map(normalise);
}

export function findObject<T extends KubeObject>(objects: KubeObject[], kind: string, name: string): T {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) {
    throw new Error(`no ${kind}/${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  }
  return found as T;
}

/**
 * Writes a kustomization of one's own into a new temporary directory, as an operator would to combine the
 * shipped kustomizations and components (given as absolute paths, written relative to that directory).
 * @returns the directory; remove it with `rmSync(dir, { recursive: true })`.
 */
export function writeKustomization(fields: { resources: string[]; components?: string[] }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kustomization-'));
  const relativeTo = (paths: string[] = []): string[] => paths.map((path) => relative(dir, path));
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: relativeTo(fields.resources),
    components: relativeTo(fields.components),
  };
  writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(kustomization, null, 2));
  return dir;
}
