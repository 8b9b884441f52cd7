/* Dashboard charts: every chart's numbers come embedded in the page (json_script "dashboard-data"), the same rows
   as the table beside it, and are drawn with ECharts (the map with Leaflet, circles on a canvas, on a plain
   background when no tile server is configured or reachable). Bars with a drill-down link open it on click.
   Names (roads, areas, categories) are imported data: they reach the page only as text, never as HTML: tooltips
   are drawn on the canvas (renderMode "richText") and the map's tooltips and labels are text nodes.

   Readability rules: a chart with many names, or any chart on a phone, lays its bars horizontally (names on the
   left, truncated, never overlapping) and grows with its rows; the funnel's labels sit outside it (a stage of 0
   has no area to hold a label); the minimum line's label sits inside the plot; the three rates are three small
   bar charts on one 0–100% scale, lowest first; the map merges nearby buildings into one circle per spot. */
(function () {
  "use strict";

  var COLORS = { blue: "#2f6fb0", red: "#c62f2f", yellow: "#d99a00", green: "#2e8b57", grey: "#8a8f98", total: "#555b66" };
  var ROW = 24; // pixels per bar when bars lie horizontally

  function narrow() {
    return window.matchMedia("(max-width: 600px)").matches;
  }

  function column(rows, index) {
    return rows.map(function (row) {
      return row[index];
    });
  }

  // Horizontal when the names would crowd the bottom axis: always on a phone, and past six names on a desktop.
  function lying(labels) {
    return narrow() || labels.length > 6;
  }

  function nameAxis(labels, flat) {
    return {
      type: "category",
      data: labels,
      inverse: flat, // the first row on top, as in the table
      axisTick: { alignWithLabel: true },
      axisLabel: flat
        ? { interval: 0, width: narrow() ? 76 : 120, overflow: "truncate", fontSize: 12 }
        : { interval: 0, width: 90, overflow: "truncate", fontSize: 12 },
    };
  }

  function base() {
    return {
      tooltip: { trigger: "axis", confine: true, renderMode: "richText" },
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0, type: "scroll" },
    };
  }

  // Bars by name: `series` without their axes; the option gets the name axis and a value axis the right way round.
  function bars(chart, series, valueAxis) {
    var labels = column(chart.rows, 0);
    var flat = lying(labels);
    var option = base();
    option.xAxis = flat ? valueAxis : nameAxis(labels, false);
    option.yAxis = flat ? nameAxis(labels, true) : valueAxis;
    option.series = series;
    option.height = flat ? Math.max(220, labels.length * ROW * Math.max(1, series.length * 0.6) + 70) : null;
    return option;
  }

  var BUILDERS = {
    visits: function (chart, text) {
      var value = chart.data.value_column;
      var labels = column(chart.rows, 0);
      var flat = lying(labels);
      var line = flat ? { xAxis: chart.data.minimum } : { yAxis: chart.data.minimum };
      var option = bars(
        chart,
        [
          {
            name: chart.headers[value],
            type: "bar",
            data: column(chart.rows, value),
            itemStyle: { color: COLORS.blue },
            markLine: {
              symbol: "none",
              silent: true,
              lineStyle: { color: COLORS.red, type: "dashed" },
              // Level text where the chart has room: above the plot when bars lie down (the names run top to
              // bottom, so the line starts at the top), along the top of the line's right end otherwise; never cut
              // off by the chart's edge nor laid along the line across the bars.
              label: { position: flat ? "start" : "insideEndTop", formatter: text.minimum + " {c}", color: COLORS.red },
              data: [line],
            },
          },
        ],
        {
          type: "value",
          minInterval: 1,
          // The minimum line always inside the plot, even when everyone is far below it.
          max: function (extent) {
            return Math.max(extent.max, Math.ceil(chart.data.minimum * 1.2));
          },
        }
      );
      option.grid.top = 52; // room for the minimum line's label between the legend and the plot
      return option;
    },
    coverage: function (chart) {
      return bars(
        chart,
        [
          { name: chart.headers[3], type: "bar", data: column(chart.rows, 3), itemStyle: { color: COLORS.blue } },
          { name: chart.headers[6], type: "bar", data: column(chart.rows, 6), itemStyle: { color: COLORS.green } },
        ],
        { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }
      );
    },
    funnel: function (chart, text) {
      var received = chart.rows.length ? chart.rows[0][1] : 0;
      var option = {
        tooltip: { trigger: "item", confine: true, renderMode: "richText" },
        series: [
          {
            type: "funnel",
            sort: "none",
            left: 8,
            width: narrow() ? "50%" : "55%",
            top: 8,
            bottom: 8,
            min: 0,
            max: Math.max(received, 1), // widths against 受理: a stage nobody reached is a point, not a band
            minSize: "0%",
            gap: 2,
            // Outside, on the right, with a leader line: a thin or empty stage has no room for its label.
            label: { show: true, position: "right", formatter: "{b}  {c}", fontSize: 13, color: "#222" },
            labelLine: { show: true, length: 12 },
            labelLayout: { hideOverlap: false },
            data: received
              ? chart.rows.map(function (row) {
                  return { name: row[0], value: row[1] };
                })
              : [],
          },
        ],
      };
      if (!received) {
        // Nothing received in the period: say so, rather than six empty bands.
        option.title = { text: text.no_data, left: "center", top: "middle", textStyle: { color: COLORS.grey, fontSize: 14 } };
      }
      return option;
    },
    rates: rates,
    overdue: function (chart) {
      return bars(
        chart,
        [
          { name: chart.headers[1], type: "bar", stack: "late", data: column(chart.rows, 1), itemStyle: { color: COLORS.red } },
          { name: chart.headers[2], type: "bar", stack: "late", data: column(chart.rows, 2), itemStyle: { color: COLORS.yellow } },
        ],
        { type: "value", minInterval: 1 }
      );
    },
    topics: function (chart) {
      return horizontal(chart, 1, COLORS.blue);
    },
    clusters: function (chart) {
      return horizontal(chart, 2, COLORS.red);
    },
  };

  // The three rates as three small bar charts side by side (stacked on a phone), each sorted lowest first on the
  // same 0–100% axis, the total on top in grey; a rate with nothing to count ("—") sorts last and draws no bar.
  function rates(chart) {
    var names = chart.data.columns;
    var total = chart.rows.length > 1 ? chart.rows[chart.rows.length - 1] : null;
    var rows = total ? chart.rows.slice(0, -1) : chart.rows.slice();
    var count = rows.length + (total ? 1 : 0);
    var phone = narrow();
    var panel = count * 20 + 36; // one small chart's height
    var option = {
      tooltip: { trigger: "item", confine: true, renderMode: "richText" },
      title: [],
      grid: [],
      xAxis: [],
      yAxis: [],
      series: [],
    };
    var colors = [COLORS.blue, COLORS.green, COLORS.yellow];
    names.forEach(function (name, i) {
      var at = 1 + 3 * i;
      var sorted = rows.slice().sort(function (a, b) {
        var x = a[at] === null ? 1000 : a[at];
        var y = b[at] === null ? 1000 : b[at];
        return x - y;
      });
      if (total) {
        sorted.unshift(total);
      }
      var box = phone
        ? { left: 8, right: 44, top: i * (panel + 34) + 28, height: panel - 36 }
        : { left: (i * 100) / 3 + 1 + "%", width: 100 / 3 - 4 + "%", top: 28, height: panel - 36 };
      option.title.push({
        text: name,
        left: phone ? 8 : (i * 100) / 3 + 1 + "%",
        top: phone ? i * (panel + 34) + 4 : 4,
        textStyle: { fontSize: 13, fontWeight: "bold" },
      });
      option.grid.push(Object.assign({ containLabel: true }, box));
      option.xAxis.push({
        gridIndex: i,
        type: "value",
        min: 0,
        max: 100,
        interval: 50,
        axisLabel: { formatter: "{value}%", fontSize: 10 },
      });
      option.yAxis.push({
        gridIndex: i,
        type: "category",
        inverse: true,
        data: column(sorted, 0),
        axisLabel: { interval: 0, width: phone ? 76 : 64, overflow: "truncate", fontSize: 11 },
        axisTick: { show: false },
      });
      option.series.push({
        name: name,
        type: "bar",
        xAxisIndex: i,
        yAxisIndex: i,
        barMaxWidth: 14,
        data: sorted.map(function (row) {
          var value = row[at];
          if (value === null || value === undefined) {
            // Nothing to count: a dash where the bar would be, never a 0% bar.
            return {
              value: 0,
              itemStyle: { color: "transparent" },
              tooltip: { show: false },
              label: { formatter: "—", position: "right", color: "#333" },
            };
          }
          // Long bars carry their figure inside (white), short ones just after: it never runs into the next panel.
          var inside = value >= 35;
          return {
            value: value,
            itemStyle: { color: row === total ? COLORS.total : colors[i % 3] },
            label: { position: inside ? "insideRight" : "right", color: inside ? "#fff" : "#333" },
          };
        }),
        label: { show: true, fontSize: 10, formatter: "{c}%" },
      });
    });
    option.height = phone ? names.length * (panel + 34) + 8 : panel + 8;
    return option;
  }

  function horizontal(chart, index, color) {
    var option = base();
    option.legend = { show: false };
    option.grid.top = 8;
    option.yAxis = nameAxis(column(chart.rows, 0), true);
    option.yAxis.axisLabel.width = narrow() ? 110 : 220;
    option.xAxis = { type: "value", minInterval: 1 };
    option.series = [
      {
        name: chart.headers[index],
        type: "bar",
        data: column(chart.rows, index),
        itemStyle: { color: color },
        label: { show: true, position: "right", fontSize: 11 },
      },
    ];
    option.height = Math.max(160, chart.rows.length * ROW + 40);
    return option;
  }

  // A chart whose bars lie down grows with its rows; the others keep the stylesheet's height.
  function sized(element, option) {
    element.style.height = option.height ? Math.round(option.height) + "px" : "";
    delete option.height;
  }

  function drawChart(element, chart, text) {
    var build = BUILDERS[element.dataset.chart];
    if (!build) {
      return null;
    }
    var option = build(chart, text);
    sized(element, option);
    var instance = echarts.init(element, null, { renderer: "canvas" });
    if (!chart.rows.length) {
      option.title = { text: text.no_data, left: "center", top: "middle", textStyle: { color: COLORS.grey, fontSize: 14 } };
    }
    instance.setOption(option);
    instance.on("click", function (params) {
      var link = chart.links && chart.links[params.dataIndex];
      var sameOrder = element.dataset.chart !== "rates"; // the rates panels are sorted: no row links there
      if (link && sameOrder && params.componentType === "series" && element.dataset.chart !== "topics") {
        window.location.href = link;
      }
    });
    return instance;
  }

  // Leaflet puts a string tooltip in as HTML; an element is put in as it is.
  function textNode(label, className) {
    var span = document.createElement("span");
    span.textContent = label;
    if (className) {
      span.className = className;
    }
    return span;
  }

  // Buildings closer than CELL pixels at the current zoom are one circle: their visits and demands summed, the
  // tooltip naming how many buildings and the busiest of them. Redrawn at every zoom.
  var CELL = 26;

  function clusters(map, points, rows) {
    var cells = {};
    points.forEach(function (p, i) {
      var at = map.latLngToLayerPoint([p[0], p[1]]);
      var key = Math.floor(at.x / CELL) + ":" + Math.floor(at.y / CELL);
      var cell = cells[key];
      if (!cell) {
        cell = cells[key] = { lat: 0, lng: 0, n: 0, visits: 0, demands: 0, first: i };
      }
      cell.lat += p[0];
      cell.lng += p[1];
      cell.n += 1;
      cell.visits += p[2];
      cell.demands += p[3];
    });
    return Object.keys(cells).map(function (key) {
      var cell = cells[key];
      cell.lat /= cell.n;
      cell.lng /= cell.n;
      cell.name = rows[cell.first][0];
      return cell;
    });
  }

  function drawMap(element, chart, text) {
    if (typeof L === "undefined") {
      return null;
    }
    var note = document.getElementById("map-note");
    function showNote(message) {
      if (note && note.hidden) {
        note.textContent = message;
        note.hidden = false;
      }
      element.classList.add("no-tiles");
    }
    var map = L.map(element, { preferCanvas: true, zoomSnap: 0.5 });
    var tiles = chart.data.tiles || { layers: [] };
    tiles.layers.forEach(function (layer) {
      var tileLayer = L.tileLayer(layer.url, layer.options);
      tileLayer.on("tileerror", function () {
        showNote(text.tiles_failed);
      });
      tileLayer.addTo(map);
    });
    if (!tiles.layers.length) {
      showNote(text.no_tiles);
    }
    var points = chart.data.points || [];
    var layer = L.layerGroup().addTo(map);
    var labels = L.layerGroup().addTo(map);
    (chart.data.areas || []).forEach(function (area) {
      L.marker([area[1], area[2]], {
        interactive: false,
        icon: L.divIcon({ className: "map-area-label", html: "", iconSize: null }),
      })
        .on("add", function (event) {
          var icon = event.target.getElement();
          if (icon && !icon.firstChild) {
            icon.appendChild(textNode(area[0]));
          }
        })
        .addTo(labels);
    });

    function redraw() {
      layer.clearLayers();
      var spots = clusters(map, points, chart.rows);
      var biggest = 1;
      spots.forEach(function (s) {
        biggest = Math.max(biggest, s.visits, s.demands);
      });
      function radius(n) {
        return 4 + 14 * Math.sqrt(n / biggest);
      }
      spots.forEach(function (s) {
        var label =
          (s.n > 1 ? text.buildings.replace("%(n)s", s.n) + " · " + text.busiest + " " : "") +
          s.name + " · " + text.visits + " " + s.visits + " · " + text.demands + " " + s.demands;
        if (s.visits) {
          L.circleMarker([s.lat, s.lng], { radius: radius(s.visits), color: COLORS.blue, weight: 1, fillOpacity: 0.3 })
            .bindTooltip(textNode(label))
            .addTo(layer);
        }
        if (s.demands) {
          L.circleMarker([s.lat, s.lng], { radius: radius(s.demands), color: COLORS.red, weight: 1.5, fillOpacity: 0.55 })
            .bindTooltip(textNode(label))
            .addTo(layer);
        }
      });
    }
    var bounds = points.map(function (p) {
      return [p[0], p[1]];
    });
    map.on("zoomend", redraw);
    if (bounds.length) {
      map.fitBounds(bounds, { padding: [20, 20], maxZoom: 18 });
    } else {
      map.setView([31.2354, 121.4537], 15);
    }
    redraw();
    var legend = L.control({ position: "topright" });
    legend.onAdd = function () {
      var box = L.DomUtil.create("div", "map-legend");
      [
        ["dot visits", text.visits],
        ["dot demands", text.demands],
      ].forEach(function (item) {
        var line = document.createElement("div");
        line.appendChild(textNode("", item[0]));
        line.appendChild(textNode(item[1]));
        box.appendChild(line);
      });
      return box;
    };
    legend.addTo(map);
    return map;
  }

  function start() {
    var source = document.getElementById("dashboard-data");
    if (!source) {
      return;
    }
    var payload = JSON.parse(source.textContent);
    var drawn = [];
    var maps = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = payload.charts[element.dataset.chart];
      if (!chart) {
        return;
      }
      if (element.dataset.chart === "map") {
        var map = drawMap(element, chart, payload.text);
        if (map) {
          maps.push(map);
        }
      } else if (typeof echarts !== "undefined") {
        var instance = drawChart(element, chart, payload.text);
        if (instance) {
          drawn.push({ instance: instance, element: element, chart: chart });
        }
      }
    });
    var pending = null;
    var wasNarrow = narrow();
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        var nowNarrow = narrow();
        drawn.forEach(function (item) {
          if (nowNarrow !== wasNarrow) {
            // Crossing the phone width changes the layout (bars lie down, the rates stack): build it again.
            var option = BUILDERS[item.element.dataset.chart](item.chart, payload.text);
            sized(item.element, option);
            item.instance.setOption(option, true);
          }
          item.instance.resize();
        });
        wasNarrow = nowNarrow;
        maps.forEach(function (map) {
          map.invalidateSize();
        });
      }, 150);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
