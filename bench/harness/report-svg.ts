/**
 * The chart `docs/benchmarks.svg`, written by hand as SVG (no chart library): req/s of every
 * contender per scenario as a share of its bare framework, and lost updates per burst.
 */

import type { ContenderResult, RunResult } from './plan.js';
import { COLORS, esc, name, num, rpsToBare, x } from './report-lookup.js';

/** Render the chart: req/s per contender for A, B and C, and lost updates per burst. */
export function renderSvg(run: RunResult): string {
  const rows = run.results;
  const rowH = 20;
  const top = 96;
  const labelW = 315;
  const panelW = 230;
  const gap = 24;
  const panels: {
    title: string;
    value: (r: ContenderResult) => number | undefined;
    text: (r: ContenderResult, v: number) => string;
  }[] = [
    ...(['A', 'B', 'C'] as const).map((s) => ({
      title: `${s}: ${s === 'A' ? 'untouched' : s === 'B' ? 'read one value' : 'increment'}`,
      // Bar: req/s as a share of the bare framework, so every framework reads on one scale.
      value: (r: ContenderResult) => rpsToBare(run, r, s),
      text: (r: ContenderResult, v: number) =>
        `${num(r.scenarios[s]?.median.rps ?? 0)}${r.contender.library === 'bare' ? ' req/s' : ` · ${x(v)}`}`,
    })),
    {
      title: `lost updates of ${run.config.burstConcurrency} (worst trial)`,
      value: (r: ContenderResult) =>
        r.burst.length === 0 ? undefined : Math.max(...r.burst.map((t) => t.lost)),
      text: (_r: ContenderResult, v: number) => String(v),
    },
  ];
  const width = labelW + panels.length * (panelW + gap);
  const height = top + rows.length * rowH + 44;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">`,
    `<title>sessionkit vs express-session and @fastify/session: req/s per scenario as a share of the bare framework, and lost updates</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="16" font-weight="600">sessionkit vs peers — ${esc(run.machine.cpus ?? '?')} cores, Node ${esc(run.machine.node ?? '?')}, ${run.date.slice(0, 10)}${run.config.quick ? ' (quick smoke run)' : ''}</text>`,
    `<text x="12" y="40" fill="#4b5563">Bars A–C: req/s as a share of the bare framework in the same run (longer is better; label: req/s · ratio). Lost updates: shorter is better.</text>`,
    `<text x="12" y="56" fill="#4b5563">${run.config.connections} connections, median of ${run.config.rounds} round${run.config.rounds > 1 ? 's' : ''} of ${run.config.roundSeconds} s; ${run.config.burstConcurrency} concurrent increments × ${run.config.burstTrials} trials.</text>`,
  ];
  let legendX = 12;
  for (const [library, color] of Object.entries(COLORS)) {
    const text = library === 'bare' ? 'bare framework' : library;
    parts.push(
      `<rect x="${legendX}" y="64" width="12" height="12" fill="${color}"/>`,
      `<text x="${legendX + 16}" y="74">${esc(text)}</text>`,
    );
    legendX += 16 + text.length * 7.5 + 24;
  }
  panels.forEach((panel, p) => {
    const x0 = labelW + p * (panelW + gap);
    const values = rows.map(panel.value);
    const max =
      p === 3 ? run.config.burstConcurrency : Math.max(1.05, ...values.map((v) => v ?? 0));
    const scale = panelW - 90;
    parts.push(`<text x="${x0}" y="${top - 4}" font-weight="600">${esc(panel.title)}</text>`);
    if (p < 3) {
      const x1 = (x0 + scale / max).toFixed(1);
      parts.push(
        `<line x1="${x1}" x2="${x1}" y1="${top}" y2="${top + rows.length * rowH}" stroke="#6b7280" stroke-dasharray="3 3"/>`,
      );
    }
    rows.forEach((r, i) => {
      const y = top + i * rowH;
      const v = values[i];
      if (v === undefined) {
        parts.push(`<text x="${x0}" y="${y + 14}" fill="#9ca3af">—</text>`);
        return;
      }
      const w = Math.max(1, (v / max) * scale);
      const color = p === 3 && v > 0 ? '#dc2626' : COLORS[r.contender.library];
      parts.push(
        `<rect x="${x0}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color}" rx="2"/>`,
        `<text x="${(x0 + w + 4).toFixed(1)}" y="${y + 14}" fill="#111827">${esc(panel.text(r, v))}</text>`,
      );
    });
  });
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const first = i === 0 || rows[i - 1]?.contender.framework !== r.contender.framework;
    if (first && i > 0) {
      parts.push(`<line x1="8" x2="${width - 8}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    }
    parts.push(
      `<text x="12" y="${y + 14}"${r.contender.library === 'sessionkit' ? ' font-weight="600"' : ''}>${esc(name(r.contender))}</text>`,
    );
  });
  parts.push(
    `<text x="12" y="${height - 14}" fill="#6b7280">Server and load generator share ${esc(run.machine.cpus ?? '?')} cores. Full tables, method and machine: docs/benchmarks.md.</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
