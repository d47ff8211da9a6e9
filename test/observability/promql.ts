/**
 * Just enough PromQL and YAML reading to check that dashboards and alert rules name only
 * metrics and labels the apps export. Not a parser: it strips what cannot be a metric name
 * (strings, ranges, grouping clauses, function calls, keywords, numbers) and keeps the rest.
 */

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'inf',
  'nan',
  'atan2',
]);

/** Labels Prometheus attaches to every scraped series. */
export const TARGET_LABELS = new Set(['job', 'instance']);

/** Grafana variables replaced by what Prometheus would receive (an interval, a regex). */
export function substituteGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{[\w:]+\}|\$\w+/g, '.*');
}

function withoutStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
}

/** Metric names an expression selects, e.g. `foo_bucket` in `histogram_quantile(0.9, rate(foo_bucket[5m]))`. */
export function metricNames(expr: string): string[] {
  const stripped = withoutStrings(substituteGrafanaVariables(expr))
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?[\dsmhdwy]+/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*/g)) {
    const name = match[0];
    const rest = stripped.slice((match.index ?? 0) + name.length);
    if (/^\s*\(/.test(rest)) continue; // a function or aggregation
    if (KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Label names used in a selector's matchers: `foo{a="x", b=~"y"}` → foo: [a, b]. */
export function matcherLabels(expr: string): { metric: string; labels: string[] }[] {
  const source = substituteGrafanaVariables(expr);
  const found: { metric: string; labels: string[] }[] = [];
  for (const match of source.matchAll(/([a-zA-Z_:][\w:]*)\s*\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}/g)) {
    const [, metric = '', body = ''] = match;
    const labels = [...withoutStrings(body).matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map(
      (m) => m[1] ?? '',
    );
    found.push({ metric, labels: labels.filter((label) => label !== '__name__') });
  }
  return found;
}

/** Label names of `by (…)`, `without (…)`, `on (…)`, `ignoring (…)`, `group_left (…)` clauses. */
export function groupingLabels(expr: string): string[] {
  const labels = new Set<string>();
  for (const match of withoutStrings(expr).matchAll(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
  )) {
    for (const label of (match[1] ?? '').split(',')) {
      if (label.trim() !== '') labels.add(label.trim());
    }
  }
  return [...labels];
}

/** `{{label}}` placeholders of a Grafana legend. */
export function legendLabels(legend: string): string[] {
  return [...legend.matchAll(/\{\{\s*([\w]+)\s*\}\}/g)].map((m) => m[1] ?? '');
}

/**
 * The `expr:` values of a Prometheus rule file: plain one-line values and `|` / `>` blocks.
 * (No YAML library in the test package; rule files keep to these two forms.)
 */
export function ruleExpressions(yaml: string): { name: string; expr: string }[] {
  const lines = yaml.split('\n');
  const rules: { name: string; expr: string }[] = [];
  let name = '';
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? '';
    const named = /^\s*-?\s*(?:alert|record):\s*(.+)$/.exec(line);
    if (named) name = (named[1] ?? '').trim();
    const expr = /^(\s*)-?\s*expr:\s*(.*)$/.exec(line);
    if (!expr) continue;
    const indent = (expr[1] ?? '').length;
    const value = (expr[2] ?? '').trim();
    if (value === '|' || value === '>' || value === '|-' || value === '>-') {
      const block: string[] = [];
      while (index + 1 < lines.length) {
        const next = lines[index + 1] ?? '';
        if (next.trim() !== '' && next.length - next.trimStart().length <= indent) break;
        block.push(next.trim());
        index++;
      }
      rules.push({ name, expr: block.join(' ').trim() });
    } else {
      rules.push({ name, expr: value.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1') });
    }
  }
  return rules;
}

/** Sample names of a Prometheus text exposition, each with the label names seen on it. */
export function exposition(text: string): Map<string, Set<string>> {
  const samples = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!match) continue;
    const [, name = '', body = ''] = match;
    const labels = samples.get(name) ?? new Set<string>();
    for (const label of body.matchAll(/([a-zA-Z_]\w*)="(?:[^"\\]|\\.)*"/g)) labels.add(label[1] ?? '');
    samples.set(name, labels);
  }
  return samples;
}
