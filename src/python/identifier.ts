/** Python 3.11's `keyword.kwlist`, plus `__debug__`, which cannot be bound by an import either. */
const PYTHON_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield __debug__'.split(
    ' ',
  ),
);

const NAME = /^[\p{XID_Start}_]\p{XID_Continue}*$/u;

/** Whether `name` has Python's identifier syntax (PEP 3131), spelt NFKC-normal, as Python would read it back. */
export function isPythonName(name: string): boolean {
  // Python NFKC-normalises identifiers; refusing non-normal spellings keeps `ｉｍｐｏｒｔ`-style tricks out.
  return NAME.test(name) && name.normalize('NFKC') === name;
}

/** Whether `name` is a Python identifier that an `import` statement can name (not a keyword, NFKC-normal). */
export function isPythonIdentifier(name: string): boolean {
  return isPythonName(name) && !PYTHON_KEYWORDS.has(name);
}
