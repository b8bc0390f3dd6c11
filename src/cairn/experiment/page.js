/* The interactive part of a cairn experiment plot page (see cairn/experiment/page.py):
   tooltips on hover and focus, wheel zoom and drag pan, legend entries that hide their
   group, "front only". It reads the page's JSON data, takes over the marks the page
   already has, and sets data-ready="1" on <html> when it is set up. Tick rules are those
   of cairn/experiment/chart.py. */
(() => {
  "use strict";
  const root = document.documentElement;
  const data = JSON.parse(document.getElementById("cairn-data").textContent);
  const svg = document.querySelector("svg.chart");
  const NS = svg.namespaceURI;
  const figure = svg.parentElement;
  const tip = figure.querySelector(".tooltip");
  const [left, top, width, height] = data.frame;
  const home = { x: data.x.span.slice(), y: data.y.span.slice() };
  const view = { x: home.x.slice(), y: home.y.slice() };
  const hidden = new Set();
  const marks = Array.from(svg.querySelectorAll(".mark"));
  const numbers = Array.from(svg.querySelectorAll(".front-no"));
  const lines = Array.from(svg.querySelectorAll(".front-line"));
  let frontOnly = false;

  // ---- scales and ticks (the rules of chart.py) ----
  const t = (axis, v) => (axis.log ? Math.log10(v) : v);
  const px = (v) => left + ((t(data.x, v) - view.x[0]) / (view.x[1] - view.x[0])) * width;
  const py = (v) => top + (1 - (t(data.y, v) - view.y[0]) / (view.y[1] - view.y[0])) * height;

  function linearTicks(low, high, count = 6) {
    const raw = (high - low) / count;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
    const found = [];
    const slack = 1e-9; // 0.7 / 0.1 is 6.999...
    for (let k = Math.ceil(low / step - slack); k <= Math.floor(high / step + slack); k++) {
      found.push(Number((k * step).toPrecision(12)));
    }
    return found;
  }

  function ticks(axis, [low, high]) {
    if (!axis.log) return linearTicks(low, high);
    const decades = high - low;
    if (decades < 1) return linearTicks(10 ** low, 10 ** high);
    const every = Math.max(1, Math.ceil(decades / 8));
    const first = Math.ceil(low);
    const last = Math.floor(high);
    const found = [];
    for (let d = first; d <= last; d++) if (d % every === 0) found.push(10 ** d);
    if (decades < 3) {
      for (let d = first - 1; d <= last; d++) {
        for (const m of [2, 5]) {
          const v = m * 10 ** d;
          if (Math.log10(v) >= low && Math.log10(v) <= high) found.push(v);
        }
      }
    }
    return found.sort((a, b) => a - b);
  }

  function tickText(v) {
    if (v === 0) return "0";
    const exponent = Math.floor(Math.log10(Math.abs(v)));
    if (exponent >= -4 && exponent < 6) return String(Number(v.toPrecision(6)));
    const [mantissa, power] = v.toExponential(5).split("e");
    const p = Number(power);
    const digits = String(Math.abs(p)).padStart(2, "0");
    return mantissa.replace(/\.?0+$/, "") + "e" + (p < 0 ? "-" : "+") + digits;
  }

  // ---- drawing ----
  function svgElement(name, attributes, text) {
    const element = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function drawTicks() {
    const group = svg.querySelector("g.ticks");
    const bottom = top + height;
    const right = left + width;
    group.replaceChildren();
    for (const v of ticks(data.x, view.x)) {
      const x = px(v).toFixed(2);
      group.append(svgElement("line", { class: "grid", x1: x, y1: top, x2: x, y2: bottom }));
      group.append(svgElement("text", { class: "tick x", x: x, y: bottom + 18 }, tickText(v)));
    }
    for (const v of ticks(data.y, view.y)) {
      const y = py(v);
      const at = y.toFixed(2);
      group.append(svgElement("line", { class: "grid", x1: left, y1: at, x2: right, y2: at }));
      group.append(
        svgElement("text", { class: "tick y", x: left - 8, y: (y + 4).toFixed(2) }, tickText(v)),
      );
    }
  }

  function draw() {
    for (const mark of marks) {
      const p = data.points[mark.dataset.i];
      mark.setAttribute("cx", px(p.x).toFixed(2));
      mark.setAttribute("cy", py(p.y).toFixed(2));
    }
    for (const number of numbers) {
      const p = data.points[number.dataset.i];
      number.setAttribute("x", (px(p.x) + 8).toFixed(2));
      number.setAttribute("y", (py(p.y) - 8).toFixed(2));
    }
    for (const line of lines) {
      const path = data.lines[line.dataset.g];
      const steps = path.map(([x, y]) => px(x).toFixed(2) + "," + py(y).toFixed(2));
      line.setAttribute("d", "M" + steps.join(" L"));
    }
    drawTicks();
  }

  // ---- tooltip ----
  function rowsOf(p) {
    const rows = [];
    if (data.groups.length > 1) rows.push(["group", data.groups[p.group].name]);
    if (!(data.x.key in p.info)) rows.push([data.x.key, tickText(p.x)]);
    if (!(data.y.key in p.info)) rows.push([data.y.key, tickText(p.y)]);
    if (p.front) rows.push(["Pareto front", "yes"]);
    return rows.concat(Object.entries(p.info));
  }

  function show(mark) {
    const p = data.points[mark.dataset.i];
    const label = document.createElement("div");
    label.className = "tip-label";
    label.textContent = p.label;
    const list = document.createElement("dl");
    for (const [key, value] of rowsOf(p)) {
      const term = document.createElement("dt");
      const detail = document.createElement("dd");
      term.textContent = key;
      detail.textContent = value;
      list.append(term, detail);
    }
    tip.replaceChildren(label, list);
    tip.hidden = false;
    place(mark);
  }

  function place(mark) {
    const box = figure.getBoundingClientRect();
    const at = mark.getBoundingClientRect();
    let x = at.right - box.left + 10;
    if (x + tip.offsetWidth > box.width) x = at.left - box.left - 10 - tip.offsetWidth;
    let y = at.top - box.top - tip.offsetHeight / 2;
    y = Math.min(Math.max(y, 0), Math.max(0, box.height - tip.offsetHeight));
    tip.style.left = Math.max(0, x) + "px";
    tip.style.top = y + "px";
  }

  function hide() {
    tip.hidden = true;
  }

  for (const mark of marks) {
    const title = mark.querySelector("title");
    if (title) title.remove(); // the tooltip says it now
    mark.addEventListener("pointerenter", () => show(mark));
    mark.addEventListener("pointerleave", () => (document.activeElement === mark ? show(mark) : hide()));
    mark.addEventListener("focus", () => show(mark));
    mark.addEventListener("blur", hide);
  }
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") hide();
  });

  // ---- zoom and pan ----
  function toChart(e) {
    const box = svg.getBoundingClientRect();
    const scale = svg.viewBox.baseVal.width / box.width;
    return [(e.clientX - box.left) * scale, (e.clientY - box.top) * scale];
  }

  function zoomAxis(name, fraction, factor) {
    const [low, high] = view[name];
    const full = home[name][1] - home[name][0];
    const span = Math.min(Math.max((high - low) * factor, full * 1e-6), full * 1e3);
    const centre = low + fraction * (high - low);
    view[name] = [centre - fraction * span, centre + (1 - fraction) * span];
  }

  svg.addEventListener(
    "wheel",
    (e) => {
      e.preventDefault();
      const [x, y] = toChart(e);
      const delta = e.deltaMode === 1 ? e.deltaY * 40 : e.deltaY;
      const factor = Math.exp(Math.max(-1, Math.min(1, delta * 0.0015)));
      zoomAxis("x", Math.min(Math.max((x - left) / width, 0), 1), factor);
      zoomAxis("y", Math.min(Math.max(1 - (y - top) / height, 0), 1), factor);
      hide();
      draw();
    },
    { passive: false },
  );

  let drag = null;
  svg.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, from: { x: view.x.slice(), y: view.y.slice() } };
  });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const scale = svg.viewBox.baseVal.width / svg.getBoundingClientRect().width;
    const dx = ((e.clientX - drag.x) * scale) / width;
    const dy = ((e.clientY - drag.y) * scale) / height;
    if (Math.abs(dx) + Math.abs(dy) < 0.004 && !svg.classList.contains("panning")) return;
    if (!svg.hasPointerCapture(e.pointerId)) svg.setPointerCapture(e.pointerId);
    svg.classList.add("panning");
    const [x0, x1] = drag.from.x;
    const [y0, y1] = drag.from.y;
    view.x = [x0 - dx * (x1 - x0), x1 - dx * (x1 - x0)];
    view.y = [y0 + dy * (y1 - y0), y1 + dy * (y1 - y0)];
    hide();
    draw();
  });
  const endDrag = () => {
    drag = null;
    svg.classList.remove("panning");
  };
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);

  // ---- legend, "front only", reset ----
  function applyVisibility() {
    const off = new Set();
    for (const mark of marks) {
      const gone = hidden.has(mark.dataset.g) || (frontOnly && !mark.classList.contains("front"));
      mark.classList.toggle("off", gone);
      if (gone) off.add(mark.dataset.i);
    }
    for (const number of numbers) number.classList.toggle("off", off.has(number.dataset.i));
    for (const line of lines) line.classList.toggle("off", hidden.has(line.dataset.g));
    hide();
  }

  for (const item of document.querySelectorAll(".legend li.group")) {
    item.setAttribute("role", "button");
    item.setAttribute("aria-pressed", "true");
    item.tabIndex = 0;
    const toggle = () => {
      const g = item.dataset.g;
      if (hidden.has(g)) hidden.delete(g);
      else hidden.add(g);
      item.setAttribute("aria-pressed", String(!hidden.has(g)));
      applyVisibility();
    };
    item.addEventListener("click", toggle);
    item.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        toggle();
      }
    });
  }

  const toolbar = document.querySelector(".toolbar");
  toolbar.querySelector(".front-only").addEventListener("change", (e) => {
    frontOnly = e.target.checked;
    applyVisibility();
  });
  toolbar.querySelector(".reset").addEventListener("click", () => {
    view.x = home.x.slice();
    view.y = home.y.slice();
    draw();
  });
  toolbar.hidden = false;
  if (marks.length) svg.classList.add("zoomable");
  root.setAttribute("data-ready", "1");
})();
