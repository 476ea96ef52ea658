/**
 * The key names the plan schema allows at a path, read from zod's definitions: zod's `unrecognized_keys`
 * issue does not list the valid ones, and "did you mean" needs them.
 */
import { planSchema } from './schema.js';
import type { PlanPath } from './yaml-positions.js';

interface SchemaLike {
  _zod: {
    def: {
      type: string;
      shape?: Record<string, SchemaLike>;
      element?: SchemaLike;
      options?: SchemaLike[];
      valueType?: SchemaLike;
      innerType?: SchemaLike;
      in?: SchemaLike;
      getter?: () => SchemaLike;
    };
  };
}

function unwrap(schema: SchemaLike | undefined): SchemaLike | undefined {
  let current = schema;
  for (let i = 0; current && i < 20; i++) {
    const def: SchemaLike['_zod']['def'] = current._zod.def;
    const next = def.innerType ?? def.in ?? def.getter?.();
    if (!next) return current;
    current = next;
  }
  return current;
}

function step(schema: SchemaLike | undefined, key: string | number): SchemaLike | undefined {
  const def = unwrap(schema)?._zod.def;
  if (!def) return undefined;
  if (def.type === 'object') return def.shape?.[String(key)];
  if (def.type === 'array') return def.element;
  if (def.type === 'record') return def.valueType;
  if (def.type === 'union') {
    for (const option of def.options ?? []) {
      const next = step(option, key);
      if (next) return next;
    }
  }
  return undefined;
}

/** The keys of the map the schema expects at `path`, or undefined where it expects no map. */
export function keysAt(path: PlanPath): string[] | undefined {
  let schema: SchemaLike | undefined = planSchema as unknown as SchemaLike;
  for (const key of path) schema = step(schema, key);
  const def = unwrap(schema)?._zod.def;
  if (def?.type === 'object') return Object.keys(def.shape ?? {});
  if (def?.type === 'union') {
    for (const option of def.options ?? []) {
      const inner = unwrap(option)?._zod.def;
      if (inner?.type === 'object') return Object.keys(inner.shape ?? {});
    }
  }
  return undefined;
}
