import type { z } from 'zod';

/** The one way neurorx names what is wrong in a zod-checked value. */
type Issue = z.core.$ZodIssue;

/** The dotted path of an issue's field ("decoder.kind"), or `root` when the value itself is wrong. */
export function issueField(issue: Issue, root = '(root)'): string {
  return issue.path.length > 0 ? issue.path.map(String).join('.') : root;
}

/** "field.path: reason" for the first issue of `error`. */
export function firstIssue(error: z.ZodError, root = '(root)'): string {
  const issue = error.issues[0];
  return `${issueField(issue, root)}: ${issue.message}`;
}

/** One "  field.path: reason" line per zod issue ("(root)" for the top level). */
export function issueLines(error: z.ZodError): string {
  return error.issues.map((i) => `  ${issueField(i)}: ${i.message}`).join('\n');
}
