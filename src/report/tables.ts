/**
 * Tables through danfojs: DataFrames (computed in frames.ts) or rows -> HTML <table> (danfojs has
 * none) or plain text.
 *
 * danfojs is loaded lazily with require(): its package.json only declares types under "exports", which
 * this project's moduleResolution (node10) does not read, so a minimal structural type stands in.
 * Rows are normalised to arrays over the union of their keys before danfojs sees them (given objects,
 * danfojs takes the columns from the first row and the values by position).
 *
 * Keep this file within TypeScript 5.0 syntax (tslab compiles notebooks against its .d.ts with TS 5.0.4).
 */
import { requireOptional } from "../optional";
import { escapeHtml } from "./html";
import { alignedTable } from "./text";

export type Cell = string | number | boolean | null | undefined;
export type Row = Record<string, Cell>;

/** The part of a danfojs Series used here. The object is a real danfojs Series. */
export interface SeriesLike {
  readonly values: unknown[];
  ge(other: number): SeriesLike;
  eq(other: unknown): SeriesLike;
  or(other: SeriesLike): SeriesLike;
  median(): number;
}

/** The part of a danfojs DataFrame used here. The object is a real danfojs DataFrame. */
export interface DataFrameLike {
  readonly columns: string[];
  readonly values: unknown[][] | unknown[];
  readonly shape: number[];
  print(): void;
  column(name: string): SeriesLike;
  query(mask: SeriesLike): DataFrameLike;
  loc(opts: { columns: string[] }): DataFrameLike;
  groupby(columns: string[]): { agg(ops: Record<string, string>): DataFrameLike };
  rename(map: Record<string, string>): DataFrameLike;
  addColumn(name: string, values: unknown[], opts: { inplace: false }): DataFrameLike;
  sortValues(column: string, opts: { ascending: boolean }): DataFrameLike;
  drop(opts: { columns: string[] }): DataFrameLike;
}

/** The part of the danfojs module used here. */
export interface DanfoModule {
  DataFrame: new (data: unknown, options?: { columns?: string[] }) => DataFrameLike;
  readCSV(source: unknown): Promise<DataFrameLike>;
  merge(opts: { left: DataFrameLike; right: DataFrameLike; on: string[]; how: "left" | "right" | "inner" | "outer" }): DataFrameLike;
}

let danfoModule: DanfoModule | null = null;
/** danfojs, loaded on first use (the CLI prints tables without loading it). */
export function danfo(): DanfoModule {
  if (danfoModule === null) danfoModule = requireOptional<DanfoModule>("danfojs", "tables (DataFrames)");
  return danfoModule;
}

/**
 * Whether `x` is a danfojs DataFrame. By shape: danfojs's readCSV builds its base class, the module
 * exports a subclass, so `instanceof` fails for frames read from CSV.
 */
export function isDataFrame(x: unknown): x is DataFrameLike {
  const d = x as DataFrameLike | null;
  return typeof d === "object" && d !== null && Array.isArray(d.columns) && typeof d.groupby === "function" && typeof d.column === "function";
}

/** Columns: the given ones, else every key in order of first appearance. */
export function columnsOf(rows: Row[], columns?: string[]): string[] {
  if (columns !== undefined) return columns.slice();
  const seen = new Set<string>();
  const out: string[] = [];
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        out.push(k);
      }
    }
  }
  return out;
}

/** A danfojs DataFrame of the rows (missing cells become null). Empty rows give an empty frame. */
export function toDataFrame(rows: Row[], columns?: string[]): DataFrameLike {
  const cols = columnsOf(rows, columns);
  const values = rows.map((r) => cols.map((c) => (r[c] === undefined ? null : r[c])));
  return new (danfo().DataFrame)(values, { columns: cols });
}

/** Columns and row arrays of a DataFrame (danfojs gives a flat array for a single row/column Series). */
export function frameCells(df: DataFrameLike): { columns: string[]; rows: Cell[][] } {
  const columns = df.columns.slice();
  const raw = df.values as unknown[];
  const rows: Cell[][] = raw.length > 0 && !Array.isArray(raw[0]) ? [raw as Cell[]] : (raw as Cell[][]);
  return { columns, rows };
}

/** A DataFrame's rows as objects keyed by column name. */
export function frameRecords(df: DataFrameLike): Array<Record<string, Cell>> {
  const { columns, rows } = frameCells(df);
  return rows.map((r) => Object.fromEntries(columns.map((c, j) => [c, r[j]])));
}

export interface FormatOpts {
  /** Significant digits for non-integer numbers (default 4). */
  digits?: number;
}

/** A cell as text: integers as-is, other numbers to `digits` significant digits, null/undefined empty. */
export function formatCell(v: unknown, opts: FormatOpts = {}): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "NaN";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    if (Number.isInteger(v)) return String(v);
    const s = v.toPrecision(opts.digits ?? 4);
    return s.includes("e") ? s : String(Number(s));
  }
  return String(v);
}

function isNumericColumn(rows: Cell[][], j: number): boolean {
  let any = false;
  for (const r of rows) {
    const v = r[j];
    if (v === null || v === undefined) continue;
    if (typeof v !== "number") return false;
    any = true;
  }
  return any;
}

export interface TableHtmlOpts extends FormatOpts {
  caption?: string;
}

/** Render a DataFrame as an HTML <table class="cd-table">; every header and cell is escaped. */
export function frameHtml(df: DataFrameLike, opts: TableHtmlOpts = {}): string {
  const { columns, rows } = frameCells(df);
  const numeric = columns.map((_, j) => isNumericColumn(rows, j));
  const cls = (j: number): string => (numeric[j] ? "cd-num" : "cd-str");
  const head = columns.map((c, j) => `<th class="${cls(j)}">${escapeHtml(c)}</th>`).join("");
  const body = rows
    .map((r) => `<tr>${columns.map((_, j) => `<td class="${cls(j)}">${escapeHtml(formatCell(r[j], opts))}</td>`).join("")}</tr>`)
    .join("\n");
  const caption = opts.caption !== undefined ? `<caption>${escapeHtml(opts.caption)}</caption>` : "";
  const style =
    `<style>table.cd-table{border-collapse:collapse;margin:0.5em 0}` +
    `table.cd-table th,table.cd-table td{border:1px solid #ccc;padding:3px 8px}` +
    `table.cd-table .cd-num{text-align:right}table.cd-table .cd-str{text-align:left}` +
    `table.cd-table th{background:#f3f3f3}</style>`;
  return `${style}<table class="cd-table">${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** Rows as an HTML table (through a danfojs DataFrame). `columns` picks and orders the columns. */
export function tableHtml(rows: Row[], columns?: string[], opts: TableHtmlOpts = {}): string {
  return frameHtml(toDataFrame(rows, columns), opts);
}

/** Rows as a plain-text table for terminals: aligned columns, numbers right-aligned. */
export function textTable(rows: Row[], columns?: string[], opts: FormatOpts = {}): string {
  return frameText(toDataFrame(rows, columns), opts);
}

/** A DataFrame as a plain-text table for terminals. */
export function frameText(df: DataFrameLike, opts: FormatOpts = {}): string {
  const { columns: cols, rows: cells } = frameCells(df);
  const numeric = cols.map((_, j) => isNumericColumn(cells, j));
  const text = cells.map((r) => cols.map((_, j) => formatCell(r[j], opts)));
  return alignedTable(cols, text, numeric);
}
