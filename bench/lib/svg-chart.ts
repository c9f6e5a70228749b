/**
 * Grouped bar charts as plain SVG text: one or more panels side by side, each with a y axis (ticks,
 * grid, unit), groups of bars along x, a value on every bar and a legend. Values may be negative
 * (an overhead can be); the zero line is drawn.
 */

export interface Series {
  name: string;
  color: string;
}

export interface Panel {
  title: string;
  yLabel: string;
  xLabel: string;
  series: Series[];
  /** One entry per group; `values[i]` belongs to `series[i]`. */
  groups: Array<{ label: string; values: number[] }>;
}

const PANEL_WIDTH = 560;
const PANEL_HEIGHT = 400;
const MARGIN = { top: 70, right: 20, bottom: 60, left: 64 };
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A tick step of 1, 2 or 5 times a power of ten giving about `count` ticks over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/** Tick labels with as many decimals as the step needs, no more. */
function formatTick(value: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return value.toFixed(decimals);
}

function formatValue(value: number): string {
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function renderPanel(panel: Panel, offsetX: number): string {
  const values = panel.groups.flatMap((g) => g.values).filter((v) => Number.isFinite(v));
  const dataMax = Math.max(0, ...values);
  const dataMin = Math.min(0, ...values);
  const step = niceStep(dataMax - dataMin || 1, 5);
  const yMax = Math.ceil(dataMax / step) * step || step;
  const yMin = Math.floor(dataMin / step) * step;
  const plotWidth = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const x0 = offsetX + MARGIN.left;
  const y = (value: number): number => MARGIN.top + ((yMax - value) / (yMax - yMin)) * plotHeight;
  const parts: string[] = [];

  parts.push(
    `<text x="${offsetX + PANEL_WIDTH / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold" ${FONT}>${escapeXml(panel.title)}</text>`,
  );
  for (let tick = yMin; tick <= yMax + step / 2; tick += step) {
    const ty = y(tick);
    parts.push(`<line x1="${x0}" x2="${x0 + plotWidth}" y1="${ty}" y2="${ty}" stroke="#e3e3e3"/>`);
    parts.push(
      `<text x="${x0 - 6}" y="${ty + 4}" text-anchor="end" font-size="11" ${FONT}>${formatTick(tick, step)}</text>`,
    );
  }
  parts.push(`<line x1="${x0}" x2="${x0}" y1="${MARGIN.top}" y2="${MARGIN.top + plotHeight}" stroke="#333"/>`);
  parts.push(`<line x1="${x0}" x2="${x0 + plotWidth}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  const yLabelX = offsetX + 16;
  const yLabelY = MARGIN.top + plotHeight / 2;
  parts.push(
    `<text x="${yLabelX}" y="${yLabelY}" text-anchor="middle" font-size="12" transform="rotate(-90 ${yLabelX} ${yLabelY})" ${FONT}>${escapeXml(panel.yLabel)}</text>`,
  );
  parts.push(
    `<text x="${x0 + plotWidth / 2}" y="${PANEL_HEIGHT - 14}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(panel.xLabel)}</text>`,
  );

  const groupWidth = plotWidth / panel.groups.length;
  const barWidth = (groupWidth * 0.8) / panel.series.length;
  panel.groups.forEach((group, gi) => {
    const gx = x0 + gi * groupWidth + groupWidth * 0.1;
    group.values.forEach((value, si) => {
      const series = panel.series[si];
      if (series === undefined || !Number.isFinite(value)) {
        return;
      }
      const bx = gx + si * barWidth;
      const top = Math.min(y(value), y(0));
      const height = Math.max(Math.abs(y(value) - y(0)), 0.5);
      parts.push(
        `<rect x="${bx + 1}" y="${top}" width="${barWidth - 2}" height="${height}" fill="${series.color}"><title>${escapeXml(`${series.name} ${group.label}: ${formatValue(value)}`)}</title></rect>`,
      );
      const labelY = value >= 0 ? top - 4 : top + height + 11;
      parts.push(
        `<text x="${bx + barWidth / 2}" y="${labelY}" text-anchor="middle" font-size="9" ${FONT}>${formatValue(value)}</text>`,
      );
    });
    parts.push(
      `<text x="${gx + groupWidth * 0.4}" y="${MARGIN.top + plotHeight + 18}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(group.label)}</text>`,
    );
  });

  panel.series.forEach((series, si) => {
    const lx = x0 + (si % 4) * (plotWidth / 4);
    const ly = 40 + Math.floor(si / 4) * 16;
    parts.push(`<rect x="${lx}" y="${ly}" width="10" height="10" fill="${series.color}"/>`);
    parts.push(`<text x="${lx + 14}" y="${ly + 9}" font-size="11" ${FONT}>${escapeXml(series.name)}</text>`);
  });
  return parts.join('\n');
}

/** The panels side by side, with an optional footnote under them. */
export function renderBarChart(panels: Panel[], footnote?: string): string {
  const width = PANEL_WIDTH * panels.length;
  const height = PANEL_HEIGHT + (footnote === undefined ? 0 : 20);
  const body = panels.map((panel, i) => renderPanel(panel, i * PANEL_WIDTH)).join('\n');
  const note =
    footnote === undefined
      ? ''
      : `<text x="10" y="${height - 8}" font-size="11" fill="#555" ${FONT}>${escapeXml(footnote)}</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    body,
    note,
    '</svg>',
    '',
  ].join('\n');
}
