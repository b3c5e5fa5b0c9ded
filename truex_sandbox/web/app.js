// The sandbox's page: market data live over the sandbox's own WebSocket (SUBSCRIBE_NO_AUTH), the clients'
// private state polled from /sandbox/ui/state. Numbers are shown as the wire's decimal strings.
import { drawDepth, drawPrices } from "./charts.js";
import { canonicalDecimal, compareDecimal, isZero } from "./decimal.js";

const UI = "/sandbox/ui";
const POLL_MS = 500;
const LADDER_ROWS = 12;
const TRADES_KEPT = 200;
const CHANNELS = ["DEPTH", "EBBO", "TRADE", "INSTRUMENT"];

const $ = (selector) => document.querySelector(selector);

const page = {
  instruments: [], // instrument views, as GET /instruments
  assets: new Map(), // id -> name
  clients: [], // {id, mnemonic, role}
  symbols: new Map(), // instrument id -> symbol
  books: new Map(), // symbol -> {bids: Map(price -> level), asks: Map(price -> level)}
  ebbo: new Map(), // symbol -> EBBO data
  stats: new Map(), // symbol -> INSTRUMENT data
  trades: new Map(), // symbol -> trades, oldest first (deduplicated by match_id)
  selected: null, // symbol shown
  client: null, // client id shown
  state: null, // the last /sandbox/ui/state
  serverOffset: 0, // server seconds - local seconds
};

// What a test (or a curious user in the console) can read: when the book was first drawn, frames seen.
window.truexPage = { readyAt: null, frames: 0, page };

// ------------------------------------------------------------------------------------------ formatting
function when(ns) {
  if (!ns || ns === "0") return { text: "—", utc: "" };
  const date = new Date(Number(BigInt(ns) / 1000000n));
  const text = date.toLocaleTimeString(undefined, { hour12: false }) + "." + String(date.getMilliseconds()).padStart(3, "0");
  return { text, utc: date.toISOString().replace("T", " ").replace("Z", " UTC") };
}

function cell(text, attributes = {}) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  for (const [key, value] of Object.entries(attributes)) td.setAttribute(key, value);
  return td;
}

function timeCell(ns) {
  const { text, utc } = when(ns);
  const td = document.createElement("td");
  const time = document.createElement("time");
  time.textContent = text;
  if (utc) {
    time.title = utc;
    time.dateTime = utc.replace(" ", "T").replace(" UTC", "Z");
  }
  td.append(time);
  return td;
}

function row(cells, attributes = {}) {
  const tr = document.createElement("tr");
  for (const [key, value] of Object.entries(attributes)) tr.dataset[key] = value;
  tr.append(...cells);
  return tr;
}

function say(text, ok = true) {
  const out = $("#action-result");
  out.textContent = text;
  out.className = ok ? "ok" : "bad";
}

// ------------------------------------------------------------------------------------------ HTTP
async function getJson(path) {
  const response = await fetch(UI + path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

async function postJson(path, body) {
  const response = await fetch(UI + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const payload = await response.json();
  if (!response.ok) throw new Error(payload.detail || `HTTP ${response.status}`);
  return payload;
}

// ------------------------------------------------------------------------------------------ market data
function bookOf(symbol) {
  if (!page.books.has(symbol)) page.books.set(symbol, { bids: new Map(), asks: new Map() });
  return page.books.get(symbol);
}

function applyLevels(side, levels) {
  for (const level of levels) {
    const key = canonicalDecimal(level.price);
    if (isZero(level.qty)) side.delete(key);
    else side.set(key, level);
  }
}

function addTrades(symbol, trades) {
  const kept = page.trades.get(symbol) ?? [];
  const seen = new Set(kept.map((t) => t.match_id));
  for (const trade of trades) if (!seen.has(trade.match_id)) kept.push(trade), seen.add(trade.match_id);
  kept.sort((a, b) => {
    const t = BigInt(a.timestamp) - BigInt(b.timestamp);
    return t !== 0n ? (t < 0n ? -1 : 1) : compareDecimal(a.match_id, b.match_id);
  });
  page.trades.set(symbol, kept.slice(-TRADES_KEPT));
}

function onFrame(frame) {
  if (frame.channel === "WEBSOCKET") {
    if (frame.status && !["UNAUTHENTICATED", "AUTHENTICATED"].includes(frame.status) && frame.update !== "WELCOME") {
      feed(`Market data: subscription refused (${frame.status}${frame.message ? ": " + frame.message : ""})`, false);
    }
    return;
  }
  window.truexPage.frames += 1;
  // seqnum counts per channel; a jump means frames were merged behind a slow reader. DEPTH, EBBO and
  // INSTRUMENT merges keep the latest state, but trades in between are gone: fetch them again.
  const seq = Number(frame.seqnum);
  const gap = seqnums[frame.channel] !== undefined && seq !== seqnums[frame.channel] + 1;
  seqnums[frame.channel] = seq;
  const data = frame.data;
  if (gap && frame.channel === "TRADE" && data) backfillTrades(data.symbol);
  if (frame.update === "SNAPSHOT_COMPLETE") {
    if (frame.channel === "TRADE") backfillTrades(frame.item);
    return;
  }
  if (!data) return;
  const symbol = data.symbol;
  if (frame.channel === "DEPTH") {
    const book = bookOf(symbol);
    if (frame.update === "SNAPSHOT") {
      book.bids.clear();
      book.asks.clear();
    }
    applyLevels(book.bids, data.bids ?? []);
    applyLevels(book.asks, data.asks ?? []);
  } else if (frame.channel === "EBBO") {
    page.ebbo.set(symbol, data);
  } else if (frame.channel === "INSTRUMENT") {
    page.stats.set(data.info?.symbol ?? symbol, data);
  } else if (frame.channel === "TRADE") {
    addTrades(symbol, [data]);
  }
  scheduleRender();
}

async function backfillTrades(symbol) {
  // Trades before the subscription (TRADE has no snapshot): from the engine, merged by match_id.
  const id = [...page.symbols].find(([, s]) => s === symbol)?.[0];
  if (!id) return;
  try {
    const trades = await getJson(`/trades?instrument_id=${encodeURIComponent(id)}`);
    addTrades(symbol, trades.map((t) => ({ ...t, symbol })));
    scheduleRender();
  } catch (error) {
    console.warn("trades backfill failed", error);
  }
}

function feed(text, ok) {
  const node = $("#feed");
  node.textContent = text;
  node.className = `status ${ok ? "ok" : "bad"}`;
}

let seqnums = {};

function connect(delay = 1000) {
  seqnums = {}; // per connection
  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/`;
  const socket = new WebSocket(url);
  socket.addEventListener("open", () => {
    const timestamp = String(Math.floor(Date.now() / 1000 + page.serverOffset));
    const symbols = [...page.symbols.values()];
    socket.send(JSON.stringify({ type: "SUBSCRIBE_NO_AUTH", channels: CHANNELS, item_names: symbols, timestamp }));
    feed("Market data: live", true);
    delay = 1000;
  });
  socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    feed("Market data: disconnected, reconnecting…", false);
    setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
  });
}

// ------------------------------------------------------------------------------------------ private state
async function poll() {
  try {
    page.state = await getJson("/state");
    scheduleRender("state");
  } catch (error) {
    const node = $("#invariants");
    node.textContent = "Invariants: sandbox unreachable";
    node.className = "status bad";
  }
  setTimeout(poll, POLL_MS);
}

// ------------------------------------------------------------------------------------------ rendering
// At most one redraw per animation frame, of what changed: market data can come hundreds of times a second.
const dirty = { market: false, state: false };
let renderQueued = false;
function scheduleRender(what = "market") {
  dirty[what] = true;
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  const { market, state } = dirty;
  dirty.market = dirty.state = false;
  if (market || state) renderBook(); // the ladder marks the house's quotes, which come with the state
  if (market) renderTrades();
  if (state && page.state) {
    renderInvariants();
    renderBalances();
    renderClient();
  }
}

function houseQty(side, price) {
  const id = [...page.symbols].find(([, s]) => s === page.selected)?.[0];
  const quote = page.state?.house_quotes.find(
    (q) => q.instrument_id === id && q.side === side && compareDecimal(q.price, price) === 0,
  );
  return quote ? quote.qty : "";
}

function ladderRows(levels, side) {
  return levels.map((level) => {
    const house = houseQty(side, level.price);
    const tr = row(
      [cell(level.price, { class: "price" }), cell(level.qty), cell(level.order_count), cell(house ? `house ${house}` : "")],
      { side, price: level.price, qty: level.qty },
    );
    tr.className = side === "BUY" ? "bid" : "ask";
    if (house) tr.classList.add("house");
    return tr;
  });
}

function renderBook() {
  const symbol = page.selected;
  const book = bookOf(symbol);
  const bids = [...book.bids.values()].sort((a, b) => compareDecimal(b.price, a.price));
  const asks = [...book.asks.values()].sort((a, b) => compareDecimal(a.price, b.price));
  $("#book-title").textContent = `Order book ${symbol}`;
  $("#asks").replaceChildren(...ladderRows(asks.slice(0, LADDER_ROWS).reverse(), "SELL"));
  $("#bids").replaceChildren(...ladderRows(bids.slice(0, LADDER_ROWS), "BUY"));
  const spread = asks.length && bids.length ? `best bid ${bids[0].price} · best ask ${asks[0].price}` : "one side empty";
  $("#spread").replaceChildren(row([cell(spread, { colspan: "4", class: "spread" })]));
  $("#ladder").dataset.levels = String(bids.length + asks.length);
  drawDepth($("#depth-chart"), bids.slice(0, 40), asks.slice(0, 40));

  const ebbo = page.ebbo.get(symbol)?.info;
  const entries = ebbo
    ? [
        ["Best bid", `${ebbo.best_bid.price} × ${ebbo.best_bid.qty}`],
        ["Best ask", `${ebbo.best_ask.price} × ${ebbo.best_ask.qty}`],
        ["Last trade", `${ebbo.last_trade.price} × ${ebbo.last_trade.qty}`],
      ]
    : [];
  $("#ebbo").replaceChildren(...entries.flatMap(([term, value]) => [definition("dt", term), definition("dd", value)]));
  if (window.truexPage.readyAt === null && book.bids.size + book.asks.size > 0) {
    window.truexPage.readyAt = performance.now();
    document.body.dataset.ready = "1";
  }
}

function definition(tag, text) {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

function renderTrades() {
  const trades = page.trades.get(page.selected) ?? [];
  drawPrices($("#price-chart"), trades);
  const newest = trades.slice(-30).reverse();
  $("#trades tbody").replaceChildren(
    ...newest.map((t) => row([timeCell(t.timestamp), cell(t.trade_price), cell(t.trade_qty), cell(t.match_id)], { match: t.match_id })),
  );
  const stats = page.stats.get(page.selected)?.stats ?? page.instruments.find((i) => i.info.symbol === page.selected)?.stats;
  $("#stats").replaceChildren(
    ...(stats
      ? [definition("dt", "24 h quantity"), definition("dd", stats.last_24hr_quantity), definition("dt", "24 h notional"), definition("dd", stats.last_24hr_notional)]
      : []),
  );
}

function renderInvariants() {
  const { ok, problems } = page.state.invariants;
  const node = $("#invariants");
  node.textContent = ok ? "Invariants hold: money conserved, holds match open orders" : `Invariants BROKEN (${problems.length})`;
  node.className = `status ${ok ? "ok" : "bad"}`;
  const details = $("#problems");
  details.hidden = ok;
  details.querySelector("ul").replaceChildren(...problems.map((p) => definition("li", p)));
}

function mnemonic(id) {
  return page.clients.find((c) => c.id === id)?.mnemonic ?? id;
}

function renderBalances() {
  const rows = [];
  for (const client of page.clients) {
    const balances = page.state.clients[client.id]?.balances ?? [];
    for (const b of balances) {
      if (isZero(b.balance) && isZero(b.order_hold) && isZero(b.transfer_hold)) continue;
      rows.push(
        row(
          [cell(client.mnemonic), cell(page.assets.get(b.asset_id) ?? b.asset_id), cell(b.balance, { "data-field": "balance" }),
           cell(b.available, { "data-field": "available" }), cell(b.order_hold, { "data-field": "order_hold" }),
           cell(b.transfer_hold, { "data-field": "transfer_hold" })],
          { client: client.mnemonic, asset: page.assets.get(b.asset_id) ?? b.asset_id },
        ),
      );
    }
  }
  $("#balances tbody").replaceChildren(...rows);
}

const ORDER_COLUMNS = ["Time", "Id", "Instrument", "Side", "Type", "Price", "Qty", "Filled", "VWAP", "Fees", "Status"];

function orderRows(orders, fees, cancellable) {
  return orders.map((o) => {
    const info = o.order_info;
    const cells = [
      timeCell(o.timestamp), cell(o.id), cell(page.symbols.get(info.instrument_id) ?? info.instrument_id),
      cell(info.side), cell(info.type), cell(info.price ?? "—"), cell(info.qty), cell(o.exeuted_qty ?? o.executed_qty),
      cell(o.executed_vwap), cell(fees[o.id] ?? "0"), cell(o.status + (o.text ? ` (${o.text})` : "")),
    ];
    if (cancellable) {
      const td = document.createElement("td");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Cancel";
      button.setAttribute("aria-label", `Cancel order ${o.id}`);
      button.addEventListener("click", () => cancel(o, button));
      td.append(button);
      cells.push(td);
    }
    return row(cells, { orderId: o.id, status: o.status });
  });
}

function header(table, columns) {
  const tr = document.createElement("tr");
  for (const name of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    tr.append(th);
  }
  $(table + " thead").replaceChildren(tr);
}

function renderClient() {
  const id = page.client;
  const state = page.state.clients[id];
  if (!state) return;
  $("#client-title").textContent = `Client ${mnemonic(id)} (${id})`;
  for (const button of document.querySelectorAll("#client-tabs button")) {
    button.setAttribute("aria-pressed", String(button.dataset.id === id));
  }
  $("#open-count").textContent = `(${state.open_count})`;
  $("#open-orders tbody").replaceChildren(...orderRows(state.open_orders, state.fees, true));
  $("#recent-orders tbody").replaceChildren(...orderRows(state.orders, state.fees, false));
  $("#fills tbody").replaceChildren(
    ...state.fills.map((f) =>
      row([timeCell(f.timestamp), cell(f.order_id), cell(page.symbols.get(f.instrument_id) ?? f.instrument_id), cell(f.trade_price),
           cell(f.trade_qty), cell(f.trade_fee_rate), cell(f.liq_flag)], { match: f.match_id }),
    ),
  );
  $("#transfers tbody").replaceChildren(
    ...state.transfers.map((t) =>
      row([timeCell(t.timestamp), cell(t.id), cell(t.request.type), cell(page.assets.get(t.request.asset_id) ?? t.request.asset_id),
           cell(t.request.amount), cell(t.status)], { transferId: t.id, status: t.status }),
    ),
  );
}

// ------------------------------------------------------------------------------------------ controls
async function cancel(order, button) {
  button.disabled = true;
  try {
    const answer = await postJson(`/orders/${order.id}/cancel`, { client_id: order.order_info.client_id });
    say(`Order ${answer.id}: ${answer.status}`);
  } catch (error) {
    say(`Cancel refused: ${error.message}`, false);
    button.disabled = false;
  }
}

function externalId() {
  return "ui-" + Date.now().toString(36) + Math.floor(Math.random() * 1296).toString(36);
}

async function placeOrder(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const info = {
    client_id: form.get("client_id"),
    instrument_id: form.get("instrument_id"),
    side: form.get("side"),
    type: form.get("type"),
    tif: form.get("tif"),
    qty: form.get("qty"),
  };
  if (form.get("price")) info.price = form.get("price");
  try {
    const order = await postJson("/orders", { external_id: externalId(), info });
    say(`Order ${order.id}: ${order.status}${order.text ? " — " + order.text : ""}`, order.status !== "REJECTED");
  } catch (error) {
    say(`Order refused: ${error.message}`, false);
  }
}

async function sendTransfer(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const request = {
    client_id: form.get("client_id"),
    asset_id: form.get("asset_id"),
    platform: "INTERNAL",
    type: form.get("type"),
    amount: form.get("amount"),
  };
  try {
    const transfer = await postJson("/transfers", { request });
    say(`Transfer ${transfer.id}: ${transfer.status}`, transfer.status !== "REJECTED");
  } catch (error) {
    say(`Transfer refused: ${error.message}`, false);
  }
}

function option(value, text) {
  const node = document.createElement("option");
  node.value = value;
  node.textContent = text;
  return node;
}

function tabs(list, items, onPick) {
  list.replaceChildren(
    ...items.map(({ key, label }) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.dataset.id = key;
      button.addEventListener("click", () => onPick(key));
      li.append(button);
      return li;
    }),
  );
}

function pickInstrument(symbol) {
  page.selected = symbol;
  for (const button of document.querySelectorAll("#instrument-tabs button")) {
    button.setAttribute("aria-pressed", String(button.dataset.id === symbol));
  }
  scheduleRender("market");
}

function pickClient(id) {
  page.client = id;
  scheduleRender("state");
}

// ------------------------------------------------------------------------------------------ start
async function start() {
  const market = await getJson("/market");
  page.serverOffset = Number(market.now) - Date.now() / 1000;
  page.instruments = market.instruments;
  page.clients = market.clients;
  for (const asset of market.assets) page.assets.set(asset.id, asset.fields.name);
  for (const instrument of market.instruments) page.symbols.set(instrument.id, instrument.info.symbol);
  const coalesce = Number(market.ws_coalesce);
  $("#coalesce-hint").textContent =
    coalesce > 0 ? `Market data is published every ${market.ws_coalesce} s (--ws-coalesce); private state every ${POLL_MS} ms.` : `Market data in real time; private state every ${POLL_MS} ms.`;

  tabs($("#instrument-tabs"), market.instruments.map((i) => ({ key: i.info.symbol, label: i.info.symbol })), pickInstrument);
  const people = market.clients.map((c) => ({ key: c.id, label: c.role === "trader" ? c.mnemonic : `${c.mnemonic} (${c.role})` }));
  tabs($("#client-tabs"), people, pickClient);
  for (const select of document.querySelectorAll(".client-select")) {
    select.replaceChildren(...market.clients.filter((c) => c.role !== "fees").map((c) => option(c.id, c.mnemonic)));
  }
  for (const select of document.querySelectorAll(".instrument-select")) {
    select.replaceChildren(...market.instruments.map((i) => option(i.id, i.info.symbol)));
  }
  $("#asset-select").replaceChildren(...market.assets.map((a) => option(a.id, a.fields.name)));
  $("#order-form").addEventListener("submit", placeOrder);
  $("#transfer-form").addEventListener("submit", sendTransfer);

  page.client = market.clients.find((c) => c.role === "trader")?.id ?? market.clients[0]?.id;
  pickInstrument(market.instruments[0]?.info.symbol);
  header("#open-orders", [...ORDER_COLUMNS, "Action"]);
  header("#recent-orders", ORDER_COLUMNS);
  connect();
  poll();
}

start().catch((error) => {
  feed(`Could not start: ${error.message}`, false);
});
