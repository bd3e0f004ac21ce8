// SSIC-Bench browser report: draws the page from the JSON inlined in index.html (#report-data), no libraries.
// Sections: RD curves (SVG, hover, toggles), sortable BD tables, and an image viewer (two decodes side by side
// or with a slider, zoom and pan, group-mask overlay).
"use strict";

const DATA = JSON.parse(document.getElementById("report-data").textContent);
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
  "#17becf", "#393b79", "#ad494a", "#637939", "#8c6d31", "#7b4173", "#3182bd"];
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, text = "") {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function fmt(value, digits = 4) {
  return value === null || value === undefined ? "n/a" : Number(value).toFixed(digits);
}

// --- RD curves ----------------------------------------------------------------------------------------------

const hiddenCurves = new Set();
let currentMetric = DATA.metrics.length ? DATA.metrics[0].name : null;
const colourOf = new Map(DATA.curves.map((c, i) => [c.name, COLOURS[i % COLOURS.length]]));

function curvesWith(metric) {
  return DATA.curves.filter((c) => c.points.some((p) => p.values[metric] !== null && p.values[metric] !== undefined));
}

function niceTicks(low, high, count = 6) {
  const step0 = (high - low) / count;
  const magnitude = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= step0) || step0;
  const ticks = [];
  for (let t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function drawChart() {
  const holder = document.getElementById("chart");
  holder.textContent = "";
  if (!currentMetric) {
    holder.textContent = "No curves.";
    return;
  }
  const metric = DATA.metrics.find((m) => m.name === currentMetric);
  const curves = curvesWith(currentMetric);
  const points = curves.flatMap((c) => c.points.filter((p) => p.values[currentMetric] != null));
  if (!points.length) {
    holder.textContent = `No finite ${metric.title} values.`;
    drawLegend([]);
    drawCurveTable([]);
    return;
  }
  const W = 900, H = 480, L = 64, R = 16, T = 16, B = 48;
  const bpps = points.map((p) => p.bpp), ys = points.map((p) => p.values[currentMetric]);
  const xMax = Math.max(...bpps) * 1.04, xMin = 0;
  const yPad = (Math.max(...ys) - Math.min(...ys)) * 0.05 || 1;
  const levels = (DATA.references || []).map((r) => r.values[currentMetric]).filter((v) => v !== null && v !== undefined);
  const yMin = Math.min(...ys, ...levels) - yPad, yMax = Math.max(...ys, ...levels) + yPad;
  const x = (v) => L + ((v - xMin) / (xMax - xMin)) * (W - L - R);
  const y = (v) => H - B - ((v - yMin) / (yMax - yMin)) * (H - T - B);
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, "data-metric": currentMetric });
  const grid = el("svg:g", { class: "grid" }), axis = el("svg:g", { class: "axis" });
  for (const t of niceTicks(xMin, xMax)) {
    grid.append(el("svg:line", { x1: x(t), x2: x(t), y1: T, y2: H - B }));
    axis.append(el("svg:text", { x: x(t), y: H - B + 16, "text-anchor": "middle" }, String(t)));
  }
  for (const t of niceTicks(yMin, yMax)) {
    grid.append(el("svg:line", { x1: L, x2: W - R, y1: y(t), y2: y(t) }));
    axis.append(el("svg:text", { x: L - 6, y: y(t) + 4, "text-anchor": "end" }, String(t)));
  }
  axis.append(el("svg:text", { x: (L + W - R) / 2, y: H - 10, "text-anchor": "middle" }, "rate [bpp]"));
  axis.append(el("svg:text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle",
    transform: `rotate(-90 14 ${(T + H - B) / 2})` }, metric.label));
  axis.append(el("svg:rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#999" }));
  svg.append(grid, axis);
  for (const ref of DATA.references || []) { // a level every rate is compared with (e.g. AP on the originals)
    const value = ref.values[currentMetric];
    if (value === null || value === undefined || value < yMin || value > yMax) continue;
    const line = el("svg:g", { class: "reference", "data-name": ref.name });
    line.append(el("svg:line", { x1: L, x2: W - R, y1: y(value), y2: y(value), stroke: "#444", "stroke-dasharray": "2 3" }));
    line.append(el("svg:text", { x: W - R - 4, y: y(value) - 4, "text-anchor": "end" }, `${ref.name}: ${fmt(value)}`));
    svg.append(line);
  }
  for (const curve of curves) {
    const shown = curve.points.filter((p) => p.values[currentMetric] != null);
    const g = el("svg:g", { class: "curve" + (curve.source === "measured" ? "" : " published"), "data-name": curve.name });
    if (hiddenCurves.has(curve.name)) g.classList.add("hidden");
    const colour = colourOf.get(curve.name);
    const d = shown.map((p, i) => `${i ? "L" : "M"}${x(p.bpp).toFixed(1)},${y(p.values[currentMetric]).toFixed(1)}`);
    g.append(el("svg:path", { d: d.join(" "), stroke: colour }));
    for (const p of shown) {
      const dot = el("svg:circle", { cx: x(p.bpp), cy: y(p.values[currentMetric]), r: 4, fill: colour });
      const text = `${curve.name} (${curve.source})` + (p.quality !== null ? `\nquality ${p.quality}` : "") +
        `\nbpp ${fmt(p.bpp)}\n${metric.title} ${fmt(p.values[currentMetric])}`;
      dot.addEventListener("mouseenter", (e) => showTooltip(e, text));
      dot.addEventListener("mousemove", (e) => showTooltip(e, text));
      dot.addEventListener("mouseleave", hideTooltip);
      g.append(dot);
    }
    svg.append(g);
  }
  holder.append(svg);
  drawLegend(curves);
  drawCurveTable(curves);
}

function showTooltip(event, text) {
  const tip = document.getElementById("tooltip");
  tip.textContent = text;
  tip.hidden = false;
  tip.style.left = `${event.clientX + 12}px`;
  tip.style.top = `${event.clientY + 12}px`;
}

function hideTooltip() {
  document.getElementById("tooltip").hidden = true;
}

function drawLegend(curves) {
  const legend = document.getElementById("legend");
  legend.textContent = "";
  for (const [group, measured] of [["measured (this run)", true], ["published", false]]) {
    const members = curves.filter((c) => (c.source === "measured") === measured);
    if (!members.length) continue;
    legend.append(el("div", { class: "group" }, group));
    for (const curve of members) {
      const entry = el("span", { class: "entry" + (hiddenCurves.has(curve.name) ? " hidden" : ""), "data-name": curve.name });
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = colourOf.get(curve.name);
      entry.append(swatch, document.createTextNode(curve.name + (curve.source === "read off a figure" ? " (read off figure)" : "")));
      entry.addEventListener("click", () => {
        if (hiddenCurves.has(curve.name)) hiddenCurves.delete(curve.name);
        else hiddenCurves.add(curve.name);
        drawChart();
      });
      legend.append(entry);
    }
  }
}

function drawCurveTable(curves) {
  const body = document.querySelector("#curve-table tbody");
  body.textContent = "";
  for (const curve of curves) {
    const shown = curve.points.filter((p) => p.values[currentMetric] != null);
    const row = el("tr", { "data-name": curve.name });
    const range = `${fmt(shown[0].bpp, 3)} – ${fmt(shown[shown.length - 1].bpp, 3)}`;
    for (const text of [curve.name, curve.source, String(shown.length), range]) row.append(el("td", {}, text));
    body.append(row);
  }
}

function drawMetricButtons() {
  const holder = document.getElementById("metric-buttons");
  for (const metric of DATA.metrics) {
    const button = el("button", { "data-metric": metric.name, role: "tab" }, metric.title);
    if (metric.name === currentMetric) button.classList.add("active");
    button.addEventListener("click", () => {
      currentMetric = metric.name;
      holder.querySelectorAll("button").forEach((b) => b.classList.toggle("active", b === button));
      drawChart();
    });
    holder.append(button);
  }
}

// --- BD tables ----------------------------------------------------------------------------------------------

function drawBDTables() {
  const holder = document.getElementById("bd-tables");
  if (!DATA.tables.length) holder.textContent = "No BD table (no anchor among the curves).";
  for (const table of DATA.tables) {
    holder.append(el("h3", {}, table.title));
    if (table.interval) holder.append(el("p", {}, table.interval));
    for (const section of table.sections) {
      if (section.anchor) holder.append(el("h4", {}, `against ${section.anchor}`));
      if (section.mean_of) holder.append(el("p", {}, `JPEG-AI mean BD-rate: the ${section.mean_of}.`));
      holder.append(bdTable(section, table.name));
    }
  }
}

function bdTable(section, name) {
  const table = el("table", { class: "bd", "data-table": name, "data-anchor": section.anchor });
  if (section.header[section.header.length - 1] === "notes") table.dataset.notes = "1";
  const head = el("tr");
  section.header.forEach((text, column) => {
    const th = el("th", {}, text);
    th.addEventListener("click", () => sortTable(table, section, column, th));
    head.append(th);
  });
  table.append(el("thead"), el("tbody"));
  table.tHead.append(head);
  fillRows(table, section.rows);
  return table;
}

function fillRows(table, rows) {
  const body = table.tBodies[0];
  body.textContent = "";
  for (const row of rows) {
    const tr = el("tr");
    row.cells.forEach((text, i) => {
      const td = el("td", {}, text);
      if (text === "n/a") td.classList.add("na");
      if (i === row.cells.length - 1 && table.dataset.notes) td.classList.add("notes");
      tr.append(td);
    });
    body.append(tr);
  }
}

function sortTable(table, section, column, th) {
  const up = !th.classList.contains("sorted-up");
  table.querySelectorAll("th").forEach((h) => h.classList.remove("sorted-up", "sorted-down"));
  th.classList.add(up ? "sorted-up" : "sorted-down");
  const key = (row) => row.values[column] ?? row.cells[column];
  const rows = [...section.rows].sort((a, b) => {
    const ka = key(a), kb = key(b);
    if (typeof ka === "number" && typeof kb === "number") return up ? ka - kb : kb - ka;
    if (typeof ka === "number") return -1; // n/a last
    if (typeof kb === "number") return 1;
    return up ? String(ka).localeCompare(String(kb)) : String(kb).localeCompare(String(ka));
  });
  fillRows(table, rows);
}

// --- image viewer -------------------------------------------------------------------------------------------

const view = { image: null, a: null, b: null, mode: "side", zoom: 1, tx: 0, ty: 0, split: 50 };

function select(id, options, onChange) {
  const node = el("select", { id });
  for (const [value, text] of options) node.append(el("option", { value }, text));
  node.addEventListener("change", () => onChange(node.value));
  return node;
}

function decodesOf(curve) {
  return view.image.decodes.filter((d) => d.curve === curve);
}

function nearest(curve, bpp) {
  const options = decodesOf(curve);
  return options.reduce((best, d) => (Math.abs(d.bpp - bpp) < Math.abs(best.bpp - bpp) ? d : best), options[0]);
}

function drawViewer() {
  const controls = document.getElementById("viewer-controls");
  if (!DATA.images.length) {
    controls.textContent = "No decodes were kept (the run's viewer_images is 0, or its rows came from an earlier run).";
    return;
  }
  controls.append(el("label", {}, "image "));
  controls.lastChild.append(select("image-select", DATA.images.map((im, i) => [i, im.name]), (i) => pickImage(Number(i))));
  const mode = select("mode-select", [["side", "side by side"], ["slider", "slider"]], (m) => { view.mode = m; drawStage(); });
  controls.append(el("label", {}, "view "));
  controls.lastChild.append(mode);
  const mask = el("input", { type: "checkbox", id: "mask-toggle" });
  mask.addEventListener("change", () => document.getElementById("stage").classList.toggle("show-mask", mask.checked));
  const maskLabel = el("label", { id: "mask-label" });
  maskLabel.append(mask, document.createTextNode(" group-mask overlay"));
  controls.append(maskLabel);
  if (DATA.images.some((im) => im.decodes.some((d) => d.detections))) {
    const boxes = el("input", { type: "checkbox", id: "detections-toggle", checked: "" });
    boxes.addEventListener("change", () => document.getElementById("stage").classList.toggle("hide-detections", !boxes.checked));
    const boxesLabel = el("label");
    boxesLabel.append(boxes, document.createTextNode(" detections"));
    controls.append(boxesLabel);
  }
  for (const [zoom, text] of [[1, "fit"], [2, "2x"], [4, "4x"], [8, "8x"]]) {
    const button = el("button", { "data-zoom": zoom }, text);
    button.addEventListener("click", () => { view.zoom = zoom; view.tx = 0; view.ty = 0; applyTransform(); });
    controls.append(button);
  }
  for (const side of ["a", "b"]) controls.append(el("div", { class: "pane-controls", id: `pane-${side}` }));
  pickImage(0);
}

function pickImage(index) {
  view.image = DATA.images[index];
  const curves = [...new Set(view.image.decodes.map((d) => d.curve))];
  const structured = view.image.decodes.find((d) => d.received);
  const first = structured ? structured.curve : curves[0];
  const points = decodesOf(first);
  view.a = points[Math.floor(points.length / 2)];
  const other = curves.find((c) => c !== first) || first;
  view.b = nearest(other, view.a.bpp);
  document.getElementById("mask-label").hidden = !view.image.decodes.some((d) => d.overlay);
  drawPaneControls();
  drawStage();
}

function drawPaneControls() {
  const curves = [...new Set(view.image.decodes.map((d) => d.curve))];
  for (const side of ["a", "b"]) {
    const holder = document.getElementById(`pane-${side}`);
    holder.textContent = side === "a" ? "left / A: " : "right / B: ";
    const point = view[side];
    const curve = select(`codec-${side}`, curves.map((c) => [c, c]), (c) => {
      view[side] = nearest(c, view.a.bpp); // B follows A's rate; A keeps its own
      if (side === "a") view.b = nearest(view.b.curve, view.a.bpp);
      drawPaneControls();
      drawStage();
    });
    curve.value = point.curve;
    const options = decodesOf(point.curve).map((d) => [d.quality, `q=${d.quality} (${fmt(d.bpp, 3)} bpp)`]);
    const quality = select(`quality-${side}`, options, (q) => {
      view[side] = decodesOf(point.curve).find((d) => d.quality === q);
      if (side === "a") view.b = nearest(view.b.curve, view.a.bpp);
      drawPaneControls();
      drawStage();
    });
    quality.value = point.quality;
    holder.append(curve, document.createTextNode(" "), quality);
  }
}

function canvas(decode, image) {
  const node = el("div", { class: "canvas" });
  node.style.width = `${image.width}px`;
  node.style.height = `${image.height}px`;
  node.append(el("img", { src: decode.src, alt: `${decode.curve} q=${decode.quality}`, class: "decode",
    "data-curve": decode.curve, "data-quality": decode.quality, width: image.width, height: image.height }));
  if (decode.overlay) {
    node.append(el("img", { src: decode.overlay, alt: "group mask", class: "overlay", width: image.width,
      height: image.height }));
  }
  if (decode.detections) node.append(detectionLayer(decode.detections, image));
  return node;
}

// what a detector found on this decode: boxes with category and score, and keypoints (visible ones)
function detectionLayer(detections, image) {
  const svg = el("svg:svg", { class: "detections", width: image.width, height: image.height,
    viewBox: `0 0 ${image.width} ${image.height}` });
  detections.forEach((d, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const [x, y, w, h] = d.box;
    svg.append(el("svg:rect", { x, y, width: w, height: h, stroke: colour, fill: "none", "stroke-width": 2 }));
    svg.append(el("svg:text", { x: x + 2, y: Math.max(12, y - 3), fill: colour }, `${d.label} ${d.score.toFixed(2)}`));
    for (const [kx, ky, visible] of d.keypoints || []) {
      if (visible > 0) svg.append(el("svg:circle", { cx: kx, cy: ky, r: 3, fill: colour, stroke: "#fff" }));
    }
  });
  return svg;
}

function viewport(image) {
  const port = el("div", { class: "viewport" });
  port.style.aspectRatio = `${image.width} / ${image.height}`;
  port.style.maxWidth = `${image.width}px`; // "fit" never enlarges: zoom does
  return port;
}

function drawStage() {
  const stage = document.getElementById("stage");
  stage.textContent = "";
  document.getElementById("slider")?.remove();
  const image = view.image;
  const caption = (d, right) => el("div", { class: "caption" + (right ? " right" : "") }, `${d.curve} q=${d.quality}, ${fmt(d.bpp, 3)} bpp`);
  if (view.mode === "side") {
    for (const side of ["a", "b"]) {
      const port = viewport(image);
      const layer = el("div", { class: "layer" });
      layer.append(canvas(view[side], image));
      port.append(layer, caption(view[side], false));
      stage.append(port);
    }
  } else {
    const port = viewport(image);
    const under = el("div", { class: "layer" }), over = el("div", { class: "layer", id: "slider-top" });
    under.append(canvas(view.b, image));
    over.append(canvas(view.a, image));
    port.append(under, over, el("div", { class: "split", id: "split-line" }), caption(view.a, false), caption(view.b, true));
    stage.append(port);
    const slider = el("input", { type: "range", min: 0, max: 100, value: view.split, id: "slider" });
    slider.addEventListener("input", () => { view.split = Number(slider.value); applyTransform(); });
    stage.after(slider);
  }
  document.querySelectorAll(".viewport").forEach(enablePanZoom);
  applyTransform();
  drawInfo();
}

function applyTransform() {
  document.querySelectorAll(".viewport").forEach((port) => {
    const scale = (port.clientWidth / view.image.width) * view.zoom;
    port.querySelectorAll(".canvas").forEach((c) => {
      c.style.transform = `translate(${view.tx}px, ${view.ty}px) scale(${scale})`;
    });
  });
  const top = document.getElementById("slider-top");
  if (top) top.style.clipPath = `inset(0 ${100 - view.split}% 0 0)`;
  const line = document.getElementById("split-line");
  if (line) line.style.left = `${view.split}%`;
}

function enablePanZoom(port) {
  port.addEventListener("wheel", (event) => {
    event.preventDefault();
    const rect = port.getBoundingClientRect();
    const px = event.clientX - rect.left, py = event.clientY - rect.top;
    const old = view.zoom;
    view.zoom = Math.min(32, Math.max(1, view.zoom * (event.deltaY < 0 ? 1.25 : 0.8)));
    view.tx = px - ((px - view.tx) * view.zoom) / old;
    view.ty = py - ((py - view.ty) * view.zoom) / old;
    clampPan(port);
    applyTransform();
  }, { passive: false });
  let drag = null;
  port.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX - view.tx, y: event.clientY - view.ty };
    port.setPointerCapture(event.pointerId);
  });
  port.addEventListener("pointermove", (event) => {
    if (!drag) return;
    view.tx = event.clientX - drag.x;
    view.ty = event.clientY - drag.y;
    clampPan(port);
    applyTransform();
  });
  port.addEventListener("pointerup", () => { drag = null; });
}

function clampPan(port) {
  const w = port.clientWidth, h = port.clientHeight;
  view.tx = Math.min(0, Math.max(w - w * view.zoom, view.tx));
  view.ty = Math.min(0, Math.max(h - h * view.zoom, view.ty));
}

function drawInfo() {
  const info = document.getElementById("viewer-info");
  info.textContent = "";
  if (view.image.not_kept) {
    info.append(el("p", { class: "not-kept" }, `${view.image.not_kept} decode(s) of ${view.image.name} were not kept ` +
      "(rows from an earlier run, or a picture that could not be written): they are not in the lists."));
  }
  for (const side of ["a", "b"]) {
    const d = view[side];
    const box = el("div", { class: "info", id: `info-${side}` });
    box.append(el("strong", {}, `${d.curve} q=${d.quality}: ${fmt(d.bpp)} bpp on ${view.image.name}`));
    if (d.received) box.append(el("div", { class: "received" }, `received: ${d.received}`));
    if (d.detections) box.append(el("div", { class: "found" }, `${d.detections.length} detections drawn`));
    const table = el("table");
    for (const [name, value] of d.metrics) {
      const tr = el("tr");
      tr.append(el("td", {}, name), el("td", {}, value));
      table.append(tr);
    }
    box.append(table);
    info.append(box);
  }
}

document.getElementById("generated").textContent =
  `generated ${DATA.generated}: ${DATA.curves.length} curves, ${DATA.images.length} images in the viewer`;
drawMetricButtons();
drawChart();
drawBDTables();
drawViewer();
window.addEventListener("resize", () => view.image && applyTransform());
