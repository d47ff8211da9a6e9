/**
 * Characters no new name or label may hold: control characters (C0, DEL, C1: a terminal acts
 * on ESC sequences), format characters (bidirectional overrides and zero-width characters make
 * a name look like another), lone surrogates (not text; PostgreSQL would store U+FFFD instead)
 * and the line and paragraph separators (they break lines in logs and tables). The CLI escapes
 * the same class when it prints (apps/cli/src/commands/terminal.ts).
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** True when `text` holds a character of the class above. */
export function hasUnsafeCharacter(text: string): boolean {
  return UNSAFE.test(text);
}
