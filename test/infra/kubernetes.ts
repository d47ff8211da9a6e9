/**
 * Kubernetes objects checked two ways, both from the kubernetes-models packages (Kubernetes
 * 1.27 API, KEDA, Prometheus Operator), with nothing fetched from the network:
 *
 * - `validate()` of the model class: the OpenAPI schema of the kind, compiled (types, enums,
 *   required fields, formats). It accepts unknown fields, like the Kubernetes OpenAPI does.
 * - a TypeScript type check of each object, as a literal, against the model's interface:
 *   excess-property checks catch a misspelt or misplaced field (`readinesProbe`, a probe on
 *   the pod instead of the container) that the API server would drop or reject.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// TypeScript 7, which checks the project, has no compiler API yet; this checker uses 5.9's.
import ts from 'typescript-compiler-api';

const require = createRequire(import.meta.url);

/** Module of the model for an apiVersion and kind, e.g. `kubernetes-models/apps/v1/Deployment`. */
export function modelModule(apiVersion: string, kind: string): string {
  const slash = apiVersion.lastIndexOf('/');
  const group = slash === -1 ? '' : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  if (group === 'keda.sh') return `@kubernetes-models/keda/keda.sh/${version}/${kind}`;
  if (group === 'monitoring.coreos.com') {
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${kind}`;
  }
  return `kubernetes-models/${group === '' ? '' : `${group}/`}${version}/${kind}`;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Runs the model's schema validation; returns the problems (empty when valid). */
export function validateWithModel(object: { apiVersion: string; kind: string }): string[] {
  const module = modelModule(object.apiVersion, object.kind);
  let Model: ModelClass | undefined;
  try {
    Model = (require(module) as Record<string, ModelClass>)[object.kind];
  } catch {
    return [`no model for ${object.apiVersion} ${object.kind} (${module})`];
  }
  if (Model === undefined) return [`${module} has no class ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}

export interface Typed {
  /** Where the object comes from, for messages. */
  where: string;
  object: { apiVersion: string; kind: string };
}

/** Type-checks every object against `I<Kind>` of its model module; returns the diagnostics. */
export function typeCheck(objects: Typed[]): string[] {
  // A file that does not exist, next to this one, so that module resolution finds the
  // packages in test/node_modules.
  const here = dirname(fileURLToPath(import.meta.url));
  const virtual = join(here, '__kubernetes_manifests__.ts');
  const lines: string[] = [];
  objects.forEach((entry, index) => {
    const module = modelModule(entry.object.apiVersion, entry.object.kind);
    lines.push(`import type { I${entry.object.kind} as T${index} } from ${JSON.stringify(module)};`);
  });
  // The first source line of each object, to name the manifest a diagnostic is about.
  const starts: number[] = [];
  let lineCount = lines.length;
  objects.forEach((entry, index) => {
    const chunk = `export const m${index}: T${index} = ${JSON.stringify(entry.object, null, 1)};`;
    starts.push(lineCount);
    lines.push(chunk);
    lineCount += chunk.split('\n').length;
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: [],
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) =>
    fileName === virtual
      ? ts.createSourceFile(fileName, source, languageVersion, true)
      : getSourceFile(fileName, languageVersion, ...rest);
  host.fileExists = (fileName) => fileName === virtual || fileExists(fileName);
  host.readFile = (fileName) => (fileName === virtual ? source : readFile(fileName));
  const program = ts.createProgram([virtual], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file?.fileName !== virtual || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const index = starts.findLastIndex((start) => start <= line);
    const entry = index === -1 ? undefined : objects[index];
    return entry === undefined ? message : `${entry.where}: ${message}`;
  });
}
