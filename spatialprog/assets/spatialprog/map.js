/* spatialprog's interactive map: the controls, the legend counts and the restyling (spatialprog.panel), and the
 * site layers drawn from compact tables (spatialprog.drawSites). Inlined into map.html by
 * spatialprog.maps.interactive; every text from a project is set as text (textContent), never parsed as HTML. */
var spatialprog = (function () {
  "use strict";
  /* The site layers: geometry as step-encoded integers of 1e-5 degree, popup columns as numbers or a
   * dictionary of texts, one popup template for all. opts: {quantum, outlineZoom}. */
  function drawSites(group, t, opts) {
    var Q = opts.quantum, LAZY_ZOOM = opts.outlineZoom, CODE = {};
    for (var k = 0; k < opts.codes.chars.length; k++) CODE[opts.codes.chars.charAt(k)] = k;
    CODE[opts.codes.none] = -1;
    // a text column's code of feature i: one character each ("s"), or a number each ("c"); -1 for none
    function code(col, i) { return col.s !== undefined ? CODE[col.s.charAt(i)] : col.c[i]; }
    // compact forms expanded once: ids as prefix + numbers of one width, names as a column of texts
    if (!Array.isArray(t.ids)) {
      var ids = [], n = 0, pad = new Array(t.ids.w + 1).join("0");
      t.ids.n.forEach(function (step) { n += step; var s = String(n); ids.push(t.ids.p + (pad + s).slice(-Math.max(t.ids.w, s.length))); });
      t.ids = ids;
    }
    if (!Array.isArray(t.names)) {
      var names = [];
      for (var j = 0; j < t.ids.length; j++) { var c0 = code(t.names, j); names.push(c0 < 0 ? null : t.names.d[c0]); }
      t.names = names;
    }
    function line(a) {
      var out = [], x = 0, y = 0;
      for (var i = 0; i < a.length; i += 2) { x += a[i]; y += a[i + 1]; out.push([y / Q, x / Q]); }
      return out;
    }
    function latlngs(t, g) {
      if (t === "P") return L.latLng(g[1] / Q, g[0] / Q);
      if (t === "A") return g.map(function (poly) { return poly.map(line); });
      return g.map(line);
    }
    function node(tag, text, cls) {
      var el = document.createElement(tag);
      if (text !== undefined) el.textContent = text;
      if (cls) el.className = cls;
      return el;
    }
    function nl(x, nd) {
      if (x === null || x === undefined) return "";
      var s = Math.abs(x).toFixed(nd), parts = s.split("."), int = parts[0], out = "";
      while (int.length > 3) { out = "\u202f" + int.slice(-3) + out; int = int.slice(0, -3); }
      return (x < 0 && Number(s) !== 0 ? "-" : "") + int + out + (parts[1] ? "," + parts[1] : "");
    }
    function value(col, i) {
      if (col.j) return col.j.map(function (part) { return typeof part === "string" ? part : value(part, i); }).join("");
      if (col.i) return col.i[i] === null ? "" : String(col.i[i]);
      if (col.f) {
        var v = col.f[i];
        return v === null ? "" : typeof v === "string" ? v : nl(v, Number.isInteger(v) ? 0 : 2);
      }
      var c = code(col, i);
      return c < 0 ? "" : col.d[c];
    }
    function title(t, i) { return t.names[i] || t.ids[i]; }
    function popup(t, i) {
      var box = node("div", undefined, "sp-pop"), head;
      if (t.headings) box.appendChild(node("div", value(t.headings, i), "sp-pop-title"));  // e.g. a conflict's rule
      else {
        head = node("div", title(t, i) + " ", "sp-pop-title");
        head.appendChild(node("span", "(" + t.ids[i] + ")"));
        box.appendChild(head);
        box.appendChild(node("div", t.title, "sp-note"));
      }
      var kv = node("table", undefined, "sp-kv");
      t.cols.forEach(function (col) {
        var v = value(col, i);
        if (v === "") return;
        var tr = node("tr");
        tr.appendChild(node("th", col.l));
        tr.appendChild(node("td", v));
        kv.appendChild(tr);
      });
      box.appendChild(kv);
      var y = t.years;
      if (y && y.has.charAt(i) === "1") {
        box.appendChild(node("div", y.title, "sp-sub"));
        var tbl = node("table", undefined, "sp-years"), hr = node("tr");
        hr.appendChild(node("th"));
        y.head.forEach(function (yr) { hr.appendChild(node("th", String(yr))); });
        tbl.appendChild(hr);
        y.rows.forEach(function (r) {
          var vals = r.v[i];
          if (vals === null || (r.skipEmpty && !vals.some(function (v) { return v !== null && v > 0; }))) return;
          var tr = node("tr");
          tr.appendChild(node("th", r.l));
          vals.forEach(function (v) { tr.appendChild(node("td", nl(v, 2))); });
          tbl.appendChild(tr);
        });
        box.appendChild(tbl);
      }
      return box;
    }
    function tip(t, i) { return node("span", (t.names[i] || "") + " (" + t.ids[i] + ")"); }
    function bind(l, t, i) {
      l.bindPopup(function () { return popup(t, i); }, {maxWidth: 420, minWidth: 240});
      if (!t.plain) l.bindTooltip(function () { return tip(t, i); }, {sticky: true});
      return l;
    }
    function cluster() {
      return L.markerClusterGroup({maxClusterRadius: 60, disableClusteringAtZoom: 15, showCoverageOnHover: false,
                                   chunkedLoading: true});
    }
    function dot(ll, colour) {
      return L.circleMarker(ll, {radius: 5, weight: 1.5, color: "#ffffff", fill: true, fillColor: colour,
                                 fillOpacity: 0.95});
    }
    function colourOf(i) { return t.colours ? t.colours.d[code(t.colours, i)] : t.colour; }
    function styleOf(i) {
      var c = colourOf(i);
      return Object.assign({color: c, weight: 2, opacity: 0.95, fillColor: c, fillOpacity: 0.12, className: "sp-site"},
                           t.style || {});
    }
    function draw() {
      var points = [], lazy = !!t.pt, outlines = [], style = styleOf(0);
      for (var i = 0; i < t.ids.length; i++) {
        var k = t.t.charAt(i);
        if (t.colours) style = styleOf(i);
        // a plain layer (conflicts): its points as rings of its own colour, not clustered
        if (k === "P" && t.plain) bind(L.circleMarker(latlngs("P", t.g[i]), Object.assign({radius: 7, fill: true}, style)),
                                       t, i).addTo(group);
        else if (k === "P") points.push(bind(dot(latlngs("P", t.g[i]), colourOf(i)), t, i));
        else if (lazy && k === "A") {  // the point inside the area, as a step from its first vertex
          var v0 = t.g[i][0][0], p = [v0[0] + t.pt[i][0], v0[1] + t.pt[i][1]];
          points.push(bind(dot(latlngs("P", p), colourOf(i)), t, i));
          outlines.push(i);
        }
        else if (k === "A") bind(L.polygon(latlngs("A", t.g[i]), style), t, i).addTo(group);
        else bind(L.polyline(latlngs("L", t.g[i]), style), t, i).addTo(group);
      }
      if (points.length) { var mc = cluster(); mc.addLayers(points); group.addLayer(mc); }
      if (!outlines.length) return;
      // many areas: their outlines (not clickable; the point holds the popup) only when zoomed in, only in view
      var renderer = L.canvas({padding: 0.2}), shown = L.layerGroup(), made = {};
      var boxes = outlines.map(function (i) { return L.polygon(latlngs("A", t.g[i])).getBounds(); });
      group.addLayer(shown);
      function refresh() {
        var m = group._map;
        if (!m) return;
        if (m.getZoom() < LAZY_ZOOM) { shown.clearLayers(); made = {}; return; }
        var view = m.getBounds().pad(0.2);
        outlines.forEach(function (i, j) {
          var on = view.intersects(boxes[j]);
          if (on && !made[i]) {
            made[i] = L.polygon(latlngs("A", t.g[i]), Object.assign(styleOf(i), {interactive: false, renderer: renderer}));
            shown.addLayer(made[i]);
          } else if (!on && made[i]) { shown.removeLayer(made[i]); delete made[i]; }
        });
      }
      group.on("add", function () { group._map.on("moveend zoomend", refresh); refresh(); });
      group.on("remove", function (e) { e.target._map && e.target._map.off("moveend zoomend", refresh); });
      if (group._map) { group._map.on("moveend zoomend", refresh); refresh(); }
    }
    draw();
  }

  /* The control panel: D is the page's data (status per variant, direction, year and substation, the
   * carriers, labels); layers: {areas, subs, map, control, bounds} (the folium layers, or null). */
  function panel(D, layers) {
    var areas = layers.areas, subs = layers.subs, map = layers.map, control = layers.control;
    var idx = {};
    D.subs.forEach(function (s, i) { idx[s] = i; });
    var yearIn = document.getElementById("sp-year"), yearVal = document.getElementById("sp-year-val");
    var dirSel = document.getElementById("sp-direction"), varSel = document.getElementById("sp-variant");
    var cmpSel = document.getElementById("sp-compare"), carSel = document.getElementById("sp-carrier");
    var vdesc = document.getElementById("sp-vdesc"), panel = document.getElementById("sp-panel");
    var NODATA = D.classes.length - 1;
    // the electricity grid and each other carrier: ids, status digits and headroom per variant/direction/year
    var ELEC = {code: "electricity", label: D.electricityLabel, hash: D.electricityHash, unit: "MW", idx: idx,
                status: D.status, headroom: D.headroom, names: D.names, word: D.subWord};
    var CARRIERS = {electricity: ELEC};
    function fmt(x) {
      if (x === null || x === undefined) return "";
      return x.toLocaleString("nl-NL", {minimumFractionDigits: 1, maximumFractionDigits: 1});
    }
    function state() {
      var v = varSel ? varSel.value : D.variants[0], c = cmpSel ? cmpSel.value : "";
      return {year: parseInt(yearIn.value, 10), dir: dirSel.value, variant: v, cmp: (c && c !== v) ? c : "",
              carrier: carSel ? carSel.value : "electricity"};
    }
    function lookupIn(blob, variant, dir, year, sid) {
      var i = blob.idx[sid], yi = D.years.indexOf(year);
      var byDir = (blob.status[variant] || {})[dir];
      if (i === undefined || yi < 0 || !byDir) return {c: NODATA, h: null};
      return {c: parseInt(byDir[yi].charAt(i), 10), h: blob.headroom[variant][dir][yi][i]};
    }
    function lookup(st, sid) { return lookupIn(ELEC, st.variant, st.dir, st.year, sid); }
    // a tooltip is built from DOM nodes: names, ids and variants are set as text, never parsed as HTML
    function node(tag, text) {
      var el = document.createElement(tag);
      if (text !== undefined) el.textContent = text;
      return el;
    }
    function swatch(colour) {
      var sw = node("span");
      sw.style.cssText = "display:inline-block;width:10px;height:10px;border:1px solid #555";
      sw.style.background = colour;
      return sw;
    }
    function diff(a, b) { return (a === null || b === null) ? null : Math.round((b - a) * 10) / 10; }
    function signed(x) { return x === null ? "" : (x > 0 ? "+" : "") + fmt(x); }
    function tipFor(id, st, r, what, blob) {
      var cls = D.classes[r.c], unit = blob.unit;
      var name = blob.names[id] || id || "";
      var box = node("span");
      box.appendChild(node("b", what + (name ? ": " + name : "")));
      box.appendChild(document.createTextNode(" (" + (id || "") + ")"));
      box.appendChild(node("br"));
      box.appendChild(document.createTextNode(st.year + " \u00b7 " + D.directionsNl[st.dir] +
        (D.variants.length > 1 ? " \u00b7 " + st.variant : "")));
      box.appendChild(node("br"));
      box.appendChild(swatch(cls.colour));
      box.appendChild(document.createTextNode(" " + cls.label));
      if (r.h !== null) {
        box.appendChild(node("br"));
        box.appendChild(document.createTextNode("ruimte: " + fmt(r.h) + " " + unit));
      }
      if (st.cmp) {
        var r2 = lookupIn(blob, st.cmp, st.dir, st.year, id);
        box.appendChild(node("br"));
        box.appendChild(document.createTextNode(st.cmp + ": "));
        box.appendChild(swatch(D.classes[r2.c].colour));
        box.appendChild(document.createTextNode(" " + D.classes[r2.c].label +
          (r2.h !== null ? ", ruimte " + fmt(r2.h) + " " + unit : "")));
        var dd = diff(r.h, r2.h);
        if (dd !== null) {
          box.appendChild(node("br"));
          box.appendChild(document.createTextNode("verschil " + st.cmp + " \u2212 " + st.variant + ": " +
            signed(dd) + " " + unit));
        }
      }
      return box;
    }
    function tip(props, st, r, what) { return tipFor(props.substation_id, st, r, what, ELEC); }
    function cell(tr, tag, text, colour, title) {
      var c = node(tag, text);
      if (colour) c.style.background = colour;
      if (title) c.title = title;
      tr.appendChild(c);
      return c;
    }
    // both variants' headroom in the chosen direction at the milestone years, and their difference
    function compareSection(blob, id, st) {
      var box = node("div");
      box.className = "sp-cmp";
      box.appendChild(node("div", "Vergelijking " + D.directionsNl[st.dir] + ": ruimte (" + blob.unit + ")"))
         .className = "sp-sub";
      var tbl = node("table"), head = node("tr");
      tbl.className = "sp-years";
      ["jaar", st.variant, st.cmp, "verschil"].forEach(function (t) { cell(head, "th", t); });
      tbl.appendChild(head);
      var ys = D.milestones.slice();
      if (ys.indexOf(st.year) < 0) { ys.push(st.year); ys.sort(); }
      ys.forEach(function (y) {
        var a = lookupIn(blob, st.variant, st.dir, y, id), b = lookupIn(blob, st.cmp, st.dir, y, id);
        var tr = node("tr");
        if (y === st.year) tr.style.fontWeight = "700";
        cell(tr, "td", String(y));
        cell(tr, "td", fmt(a.h), D.classes[a.c].colour, D.classes[a.c].label);
        cell(tr, "td", fmt(b.h), D.classes[b.c].colour, D.classes[b.c].label);
        cell(tr, "td", signed(diff(a.h, b.h)));
        tbl.appendChild(tr);
      });
      box.appendChild(tbl);
      return box;
    }
    // the popup of a node of another carrier: capacity, load and headroom in the carrier's unit
    function nodePopup(c, id) {
      var st = state(), box = node("div"), i = c.idx[id];
      box.className = "sp-pop";
      var t = node("div", (c.names[id] || id) + " ");
      t.className = "sp-pop-title";
      t.appendChild(node("span", "(" + id + ")"));
      box.appendChild(t);
      box.appendChild(node("div", c.word + " \u00b7 " + c.label + " \u00b7 " + c.unit +
        (D.variants.length > 1 ? " \u00b7 " + st.variant : ""))).className = "sp-note";
      var tbl = node("table"), h1 = node("tr"), h2 = node("tr");
      tbl.className = "sp-years";
      cell(h1, "th", "jaar").rowSpan = 2;
      cell(h1, "th", D.directionsNl.offtake + " (" + c.unit + ")").colSpan = 3;
      cell(h1, "th", D.directionsNl.feedin + " (" + c.unit + ")").colSpan = 3;
      ["capaciteit", "belasting", "ruimte", "capaciteit", "belasting", "ruimte"].forEach(function (x) { cell(h2, "th", x); });
      tbl.appendChild(h1); tbl.appendChild(h2);
      var ys = D.milestones.slice();
      if (ys.indexOf(st.year) < 0) { ys.push(st.year); ys.sort(); }
      ys.forEach(function (y) {
        var yi = D.years.indexOf(y), tr = node("tr");
        if (y === st.year) tr.style.fontWeight = "700";
        cell(tr, "td", String(y));
        ["offtake", "feedin"].forEach(function (d) {
          var r = lookupIn(c, st.variant, d, y, id);
          cell(tr, "td", fmt(c.capacity[st.variant][d][yi][i]));
          cell(tr, "td", fmt(c.load[st.variant][d][yi][i]));
          cell(tr, "td", fmt(r.h), r.h === null ? "" : D.classes[r.c].colour, D.classes[r.c].label);
        });
        tbl.appendChild(tr);
      });
      box.appendChild(tbl);
      if (st.cmp) box.appendChild(compareSection(c, id, st));
      return box;
    }
    (D.carriers || []).forEach(function (c) {
      c.idx = {};
      c.ids.forEach(function (s, i) { c.idx[s] = i; });
      c.layer = L.geoJSON(c.geo, {
        pointToLayer: function (f, ll) {
          return L.circleMarker(ll, {radius: 8, weight: 2, color: "#111111", fillColor: D.classes[NODATA].colour,
                                     fillOpacity: 1, className: "sp-node sp-node-" + c.code});
        },
        style: function () {
          return {color: "#111111", weight: 1.5, fillColor: D.classes[NODATA].colour, fillOpacity: D.areaOpacity,
                  className: "sp-node sp-node-" + c.code};
        }
      });
      c.layer.eachLayer(function (l) {
        var id = l.feature.properties.id;
        l.bindTooltip("", {direction: "top", sticky: !l.getLatLng});
        l.bindPopup(function () { return nodePopup(c, id); }, {maxWidth: 460, minWidth: 240});
      });
      if (control) control.addOverlay(c.layer, c.title);
      CARRIERS[c.code] = c;
    });
    // the substations' popups gain the comparison of two variants when one is chosen
    if (subs) subs.eachLayer(function (l) {
      var p = l.getPopup();
      if (!p) return;
      var own = p.getContent(), sid = l.feature.properties.substation_id;
      l.setPopupContent(function () {
        var box = node("div"), st = state();
        box.innerHTML = own;  // the popup's own HTML, escaped when it was made (as Leaflet would set it)
        if (st.cmp) box.firstChild.appendChild(compareSection(ELEC, sid, st));
        return box;
      });
    });
    var shown = null;
    function showCarrier(code) {
      if (shown === code) return;
      shown = code;
      var elec = code === "electricity";
      [areas, subs].forEach(function (lay) {
        if (!lay) return;
        if (elec && !map.hasLayer(lay)) map.addLayer(lay);
        if (!elec && map.hasLayer(lay)) map.removeLayer(lay);
      });
      (D.carriers || []).forEach(function (c) {
        if (c.code === code && !map.hasLayer(c.layer)) map.addLayer(c.layer);
        if (c.code !== code && map.hasLayer(c.layer)) map.removeLayer(c.layer);
      });
    }
    function ring(st, blob, id, base) {
      if (!st.cmp) return base;
      var r2 = lookupIn(blob, st.cmp, st.dir, st.year, id);
      return {color: D.classes[r2.c].colour, weight: 5};
    }
    function writeHash(st) {
      var c = CARRIERS[st.carrier];
      var parts = ["jaar=" + st.year, "richting=" + encodeURIComponent(D.directionsNl[st.dir])];
      if (D.variants.length > 1) parts.push("variant=" + encodeURIComponent(st.variant));
      if (st.cmp) parts.push("vergelijk=" + encodeURIComponent(st.cmp));
      if (c && c.code !== "electricity") parts.push("drager=" + encodeURIComponent(c.hash));
      try { history.replaceState(null, "", "#" + parts.join("&")); } catch (e) { /* a sandboxed page */ }
    }
    function apply() {
      var st = state(), counts = D.classes.map(function () { return 0; });
      yearVal.textContent = st.year;
      if (vdesc) vdesc.textContent = D.variantDesc[st.variant] || "";
      showCarrier(st.carrier);
      if (areas) areas.eachLayer(function (l) {
        var r = lookup(st, l.feature.properties.substation_id);
        l.setStyle({fillColor: D.classes[r.c].colour});
        l.setTooltipContent(tip(l.feature.properties, st, r, D.areaWord));
      });
      if (subs) subs.eachLayer(function (l) {
        var r = lookup(st, l.feature.properties.substation_id);
        if (st.carrier === "electricity") counts[r.c] += 1;
        var style = ring(st, ELEC, l.feature.properties.substation_id, {color: "#111111", weight: 2});
        style.fillColor = D.classes[r.c].colour;
        l.setStyle(style);
        l.setTooltipContent(tip(l.feature.properties, st, r, D.subWord));
      });
      (D.carriers || []).forEach(function (c) {
        c.layer.eachLayer(function (l) {
          var id = l.feature.properties.id, r = lookupIn(c, st.variant, st.dir, st.year, id);
          if (st.carrier === c.code) counts[r.c] += 1;
          var style = ring(st, c, id, {color: "#111111", weight: l.getLatLng ? 2 : 1.5});
          style.fillColor = D.classes[r.c].colour;
          l.setStyle(style);
          l.setTooltipContent(tipFor(id, st, r, c.word, c));
        });
      });
      document.querySelectorAll("[data-count]").forEach(function (el) {
        var i = D.codes.indexOf(el.getAttribute("data-count"));
        el.textContent = counts[i] ? counts[i] : "";
      });
      var cmpLi = document.getElementById("sp-cmp-legend");
      if (cmpLi) {
        cmpLi.style.display = st.cmp ? "" : "none";
        document.getElementById("sp-cmp-text").textContent = st.cmp ?
          "vulling: " + st.variant + "; rand: " + st.cmp : "";
      }
      panel.setAttribute("data-state", st.year + "|" + st.dir + "|" + st.variant);
      panel.setAttribute("data-carrier", st.carrier);
      panel.setAttribute("data-compare", st.cmp);
      if (started) writeHash(st);
      labelsByZoom();
    }
    // names on the map: each boundary's in it (with its layer), the substations' from LABEL_ZOOM on
    function label(text, cls) {
      var el = node("div", text);
      el.className = "sp-label " + cls;
      return L.divIcon({html: el, className: "sp-label-icon", iconSize: null});
    }
    var bounds = layers.bounds;
    if (bounds) D.boundaryLabels.forEach(function (b) {
      bounds.addLayer(L.marker(b.p, {icon: label(b.n, "sp-label-boundary"), interactive: false, keyboard: false}));
    });
    var subLabels = L.layerGroup(D.subLabels.map(function (b) {
      return L.marker(b.p, {icon: label(b.n, "sp-label-sub"), interactive: false, keyboard: false});
    }));
    function labelsByZoom() {
      var on = map.getZoom() >= D.labelZoom && subs && map.hasLayer(subs);
      if (on && !map.hasLayer(subLabels)) map.addLayer(subLabels);
      if (!on && map.hasLayer(subLabels)) map.removeLayer(subLabels);
    }
    map.on("zoomend overlayadd overlayremove", labelsByZoom);
    var started = false;
    if (areas) areas.eachLayer(function (l) { l.bindTooltip("", {sticky: true}); });
    if (subs) subs.eachLayer(function (l) { l.bindTooltip("", {direction: "top"}); });
    // initial state: URL fragment (#jaar=2035&richting=invoeding&variant=hoog&vergelijk=basis&drager=waterstof),
    // else the defaults
    var hash = {};
    (window.location.hash || "").replace(/^#/, "").split("&").forEach(function (kv) {
      var p = kv.split("="); if (p[0]) hash[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || "");
    });
    var y = parseInt(hash.jaar, 10);
    yearIn.value = (D.years.indexOf(y) >= 0) ? y : D.defaultYear;
    var dir = {afname: "offtake", invoeding: "feedin", offtake: "offtake", feedin: "feedin"}[hash.richting];
    if (dir) dirSel.value = dir;
    if (varSel && D.variants.indexOf(hash.variant) >= 0) varSel.value = hash.variant;
    if (cmpSel && D.variants.indexOf(hash.vergelijk) >= 0) cmpSel.value = hash.vergelijk;
    if (carSel && hash.drager) {
      Object.keys(CARRIERS).forEach(function (k) {
        if (CARRIERS[k].hash === hash.drager.toLowerCase() || k === hash.drager) carSel.value = k;
      });
    }
    [yearIn].forEach(function (el) { el.addEventListener("input", apply); });
    [yearIn, dirSel, varSel, cmpSel, carSel].forEach(function (el) { if (el) el.addEventListener("change", apply); });
    L.control.scale({metric: true, imperial: false, maxWidth: 160, position: "bottomleft"}).addTo(map);
    apply();
    started = true;
  }

  return {drawSites: drawSites, panel: panel};
})();
