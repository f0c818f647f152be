/* htna: accessibility and touch for the site's Plotly charts (loaded with defer, after plotly.min.js).
   - Each chart's first SVG becomes role="img" named by its data-chart-name and described by the
     paragraph its data-chart-desc names; the other SVG layers (tick labels, hover layer) are hidden
     from screen readers, who get the data table instead.
   - The county map's measure <select> restyles the map; a tap or click on a county writes its
     value under the map (no hover needed). */
(function () {
  "use strict";
  function label(gd) {
    var svgs = gd.querySelectorAll("svg.main-svg");
    svgs.forEach(function (svg, i) {
      if (i === 0) {
        svg.setAttribute("role", "img");
        svg.setAttribute("aria-label", gd.getAttribute("data-chart-name") || "chart");
        if (gd.getAttribute("data-chart-desc")) { svg.setAttribute("aria-describedby", gd.getAttribute("data-chart-desc")); }
        svg.setAttribute("focusable", "false");
      } else {
        svg.setAttribute("aria-hidden", "true");
      }
    });
  }
  function countyMap(gd) {
    var select = document.getElementById(gd.id + "-measure");
    var out = document.getElementById(gd.id + "-value");
    var data = document.getElementById(gd.id + "-views");
    if (!data) { return; }
    var views = JSON.parse(data.textContent);
    if (select) {
      select.addEventListener("change", function () {
        var v = views[select.selectedIndex];
        window.Plotly.restyle(gd, {locations: [v.locations], z: [v.z], customdata: [v.customdata],
                                   hovertemplate: [v.hovertemplate]});
        if (out) { out.textContent = "Showing: " + v.label + ". Tap or click a county for its figures."; }
      });
    }
    gd.on("plotly_click", function (ev) {
      if (!ev || !ev.points || !ev.points.length || !out) { return; }
      var p = ev.points[0], c = p.customdata || [];
      var v = views[select ? select.selectedIndex : 0];
      out.textContent = c[0] + ": " + v.label + " " + Math.round(100 * p.z) + "% (95% range " +
        Math.round(100 * c[1]) + "%–" + Math.round(100 * c[2]) + "%); " + c[3] + ".";
    });
  }
  // phones: wrap long category labels onto short lines, legend below the plot, thin margins
  function wrap(text, width) {
    if (typeof text !== "string" || text.length <= width) { return text; }
    var words = text.split(" "), lines = [], line = "";
    words.forEach(function (w) {
      if (line && (line + " " + w).length > width) { lines.push(line); line = w; } else { line = line ? line + " " + w : w; }
    });
    lines.push(line);
    return lines.join("<br>");
  }
  function narrow(gd) {
    if (!window.matchMedia || !window.matchMedia("(max-width: 600px)").matches) { return; }
    if (gd.getAttribute("data-county-map") !== null) { window.Plotly.relayout(gd, {height: 420}); return; }
    var ys = [], idx = [];
    (gd.data || []).forEach(function (t, i) {
      if (t.type !== "heatmap" && Array.isArray(t.y) && t.y.some(function (v) { return typeof v === "string" && v.length > 22; })) {
        ys.push(t.y.map(function (v) { return wrap(v, 22); })); idx.push(i);
      }
    });
    var layout = {"legend.orientation": "h", "legend.x": 0, "legend.y": -0.12, "legend.yanchor": "top",
                  "margin.l": 4, "margin.r": 4, "font.size": 11};
    if (idx.length) {
      window.Plotly.restyle(gd, {y: ys}, idx);
      var rows = {}, lines = 1;
      ys.forEach(function (y) { y.forEach(function (v) { rows[v] = 1; lines = Math.max(lines, String(v).split("<br>").length); }); });
      layout.height = Math.max(gd.layout.height || 0, Object.keys(rows).length * (lines * 14 + 12) + 110);
    }
    window.Plotly.relayout(gd, layout);
  }
  function setUp() {
    document.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
      label(gd);
      narrow(gd);
      if (gd.on) {
        gd.on("plotly_afterplot", function () { label(gd); });
        if (gd.getAttribute("data-county-map") !== null) { countyMap(gd); }
      }
    });
  }
  // deferred: this runs before DOMContentLoaded, after the charts' own listeners (which draw them) were added
  if (document.readyState === "complete") { setUp(); } else { document.addEventListener("DOMContentLoaded", setUp); }
})();
