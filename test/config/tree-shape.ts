import type { ConfigContainer } from '../../src/config/index.js';

/** A tree's content without source positions, for comparing trees read or written in different ways. */
export type Shape = Array<{ kind: string; name: string; value?: string; items?: Shape }>;

export function shapeOf(container: ConfigContainer): Shape {
  return container.items.map((item) =>
    item.kind === 'assignment'
      ? { kind: 'assignment', name: item.key, value: item.value }
      : { kind: 'block', name: item.name, ...(item.value === undefined ? {} : { value: item.value }), items: shapeOf(item) },
  );
}

/** The shape with every list reversed: the C parser stores items in reverse file order. */
export function reversedShape(shape: Shape): Shape {
  return shape.map((item) => (item.items ? { ...item, items: reversedShape(item.items) } : item)).reverse();
}

/**
 * What the C parser can represent: it keeps a block's assignments and child blocks in two separate
 * lists, so only the order within each list is meaningful. Assignments first, then blocks.
 */
export function cView(shape: Shape): Shape {
  const nested = shape.map((item) => (item.items ? { ...item, items: cView(item.items) } : item));
  return [...nested.filter((item) => !item.items), ...nested.filter((item) => item.items)];
}
