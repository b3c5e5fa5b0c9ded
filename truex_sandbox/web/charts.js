// Two hand-drawn SVG charts. Number() is used for coordinates only; every label is a wire string.

const SVG = "http://www.w3.org/2000/svg";

function element(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function frame(svg) {
  const [, , width, height] = svg.getAttribute("viewBox").split(" ").map(Number);
  svg.replaceChildren();
  return { width, height, pad: 28 };
}

/** Cumulative depth: bids (best first) stepping down to the left, asks (best first) up to the right. */
export function drawDepth(svg, bids, asks) {
  const { width, height, pad } = frame(svg);
  const levels = [...bids, ...asks];
  svg.dataset.levels = String(levels.length);
  if (levels.length === 0) {
    svg.append(element("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "empty book"));
    return;
  }
  const cumulate = (side) => {
    let total = 0;
    return side.map((level) => ({ x: Number(level.price), y: (total += Number(level.qty)) }));
  };
  const bidPoints = cumulate(bids);
  const askPoints = cumulate(asks);
  const xs = levels.map((level) => Number(level.price));
  const low = Math.min(...xs);
  const high = Math.max(...xs);
  const top = Math.max(bidPoints.at(-1)?.y ?? 0, askPoints.at(-1)?.y ?? 0) || 1;
  const sx = (x) => pad + ((x - low) / (high - low || 1)) * (width - 2 * pad);
  const sy = (y) => height - pad - (y / top) * (height - 2 * pad);
  const area = (points, cls) => {
    if (points.length === 0) return;
    let path = `M${sx(points[0].x)},${sy(0)}`;
    let y = 0;
    for (const point of points) {
      path += ` L${sx(point.x)},${sy(y)} L${sx(point.x)},${sy(point.y)}`;
      y = point.y;
    }
    const edge = cls === "bid" ? low : high;
    path += ` L${sx(edge)},${sy(y)} L${sx(edge)},${sy(0)} Z`;
    svg.append(element("path", { d: path, class: `depth-${cls}` }));
  };
  area(bidPoints, "bid");
  area(askPoints, "ask");
  svg.append(element("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: "axis" }));
  const first = levels.reduce((a, b) => (Number(a.price) <= Number(b.price) ? a : b));
  const last = levels.reduce((a, b) => (Number(a.price) >= Number(b.price) ? a : b));
  svg.append(element("text", { x: pad, y: height - 8, class: "tick" }, first.price));
  svg.append(element("text", { x: width - pad, y: height - 8, class: "tick", "text-anchor": "end" }, last.price));
}

/** The price of recent trades (oldest to newest, left to right). */
export function drawPrices(svg, trades) {
  const { width, height, pad } = frame(svg);
  svg.dataset.points = String(trades.length);
  svg.dataset.last = trades.at(-1)?.trade_price ?? "";
  if (trades.length === 0) {
    svg.append(element("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "no trades yet"));
    return;
  }
  const ys = trades.map((trade) => Number(trade.trade_price));
  const low = Math.min(...ys);
  const high = Math.max(...ys);
  const sx = (i) => pad + (trades.length === 1 ? 0.5 : i / (trades.length - 1)) * (width - 2 * pad);
  const sy = (y) => height - pad - ((y - low) / (high - low || 1)) * (height - 2 * pad);
  const points = ys.map((y, i) => `${sx(i).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
  svg.append(element("polyline", { points, class: "price-line" }));
  for (const [i, y] of ys.entries()) {
    if (trades.length <= 60) svg.append(element("circle", { cx: sx(i), cy: sy(y), r: 2.5, class: "price-dot" }));
  }
  const lowest = trades[ys.indexOf(low)].trade_price;
  const highest = trades[ys.indexOf(high)].trade_price;
  svg.append(element("text", { x: 4, y: pad - 10, class: "tick" }, highest));
  svg.append(element("text", { x: 4, y: height - 8, class: "tick" }, lowest));
}
