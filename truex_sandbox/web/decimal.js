// Wire decimals ("-?digits(.digits)?") compared exactly, as strings: prices are sorted and matched without
// ever going through a float, so what the page shows is what the wire said.

function parts(text) {
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = (negative ? text.slice(1) : text).split(".");
  return { negative, whole: whole.replace(/^0+(?=\d)/, ""), fraction: fraction.replace(/0+$/, "") };
}

function compareMagnitude(a, b) {
  if (a.whole.length !== b.whole.length) return a.whole.length < b.whole.length ? -1 : 1;
  if (a.whole !== b.whole) return a.whole < b.whole ? -1 : 1;
  const width = Math.max(a.fraction.length, b.fraction.length);
  const fa = a.fraction.padEnd(width, "0");
  const fb = b.fraction.padEnd(width, "0");
  return fa === fb ? 0 : fa < fb ? -1 : 1;
}

export function isZero(text) {
  return /^-?0*(\.0*)?$/.test(text);
}

/** -1, 0 or 1 as a < b, a == b, a > b. */
export function compareDecimal(a, b) {
  if (isZero(a) && isZero(b)) return 0;
  const pa = parts(a);
  const pb = parts(b);
  if (pa.negative !== pb.negative) return pa.negative ? -1 : 1;
  const order = compareMagnitude(pa, pb);
  return pa.negative ? -order : order;
}

/** The same number written the same way ("1.50" and "1.5"), for keys. */
export function canonicalDecimal(text) {
  const p = parts(text);
  if (isZero(text)) return "0";
  return (p.negative ? "-" : "") + p.whole + (p.fraction ? "." + p.fraction : "");
}
