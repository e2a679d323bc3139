import type { z } from 'zod';

/** One "  field.path: reason" line per zod issue ("(root)" for the top level). */
export function issueLines(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const field = i.path.length > 0 ? i.path.map(String).join('.') : '(root)';
      return `  ${field}: ${i.message}`;
    })
    .join('\n');
}
