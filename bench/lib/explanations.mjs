// What a gap means and what would close it, shown under a goal that was not met (filled from the profiles).
const EXPLANATIONS = {};

export function explanationFor(id) {
  return EXPLANATIONS[id];
}
