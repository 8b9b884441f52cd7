/* Dashboard charts: every chart's numbers come embedded in the page (json_script "dashboard-data"), the same rows
   as the table beside it, and are drawn with ECharts (the map with Leaflet, circles on a canvas, on a plain
   background when no tile server is configured or reachable). Bars with a drill-down link open it on click.
   Names (roads, areas, categories) are imported data: they reach the page only as text, never as HTML: tooltips
   are drawn on the canvas (renderMode "richText") and the map's tooltips are text nodes. */
(function () {
  "use strict";

  var COLORS = { blue: "#2f6fb0", red: "#c62f2f", yellow: "#d99a00", green: "#2e8b57", grey: "#8a8f98" };

  function narrow() {
    return window.matchMedia("(max-width: 600px)").matches;
  }

  function column(rows, index) {
    return rows.map(function (row) {
      return row[index];
    });
  }

  function categoryAxis(labels) {
    return {
      type: "category",
      data: labels,
      axisLabel: { interval: 0, rotate: narrow() || labels.length > 8 ? 45 : 0, fontSize: 11 },
    };
  }

  function base() {
    return {
      tooltip: { trigger: "axis", confine: true, renderMode: "richText" },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0, type: "scroll" },
    };
  }

  var BUILDERS = {
    visits: function (chart, text) {
      var value = chart.data.value_column;
      var option = base();
      option.xAxis = categoryAxis(column(chart.rows, 0));
      option.yAxis = { type: "value", minInterval: 1 };
      option.series = [
        {
          name: chart.headers[value],
          type: "bar",
          data: column(chart.rows, value),
          itemStyle: { color: COLORS.blue },
          markLine: {
            symbol: "none",
            silent: true,
            lineStyle: { color: COLORS.red, type: "dashed" },
            label: { formatter: text.minimum + " {c}" },
            data: [{ yAxis: chart.data.minimum }],
          },
        },
      ];
      return option;
    },
    coverage: function (chart) {
      var option = base();
      option.xAxis = categoryAxis(column(chart.rows, 0));
      option.yAxis = { type: "value", max: 100, axisLabel: { formatter: "{value}%" } };
      option.series = [
        { name: chart.headers[3], type: "bar", data: column(chart.rows, 3), itemStyle: { color: COLORS.blue } },
        { name: chart.headers[6], type: "bar", data: column(chart.rows, 6), itemStyle: { color: COLORS.green } },
      ];
      return option;
    },
    funnel: function (chart) {
      return {
        tooltip: { trigger: "item", confine: true, renderMode: "richText" },
        series: [
          {
            type: "funnel",
            sort: "none",
            left: "10%",
            width: "80%",
            top: 8,
            bottom: 8,
            minSize: "8%",
            label: { show: true, position: "inside", formatter: "{b} {c}" },
            data: chart.rows.map(function (row) {
              return { name: row[0], value: row[1] };
            }),
          },
        ],
      };
    },
    rates: function (chart) {
      var option = base();
      option.xAxis = categoryAxis(column(chart.rows, 0));
      option.yAxis = { type: "value", max: 100, axisLabel: { formatter: "{value}%" } };
      var colors = [COLORS.blue, COLORS.green, COLORS.yellow];
      option.series = chart.data.columns.map(function (name, i) {
        return { name: name, type: "bar", data: column(chart.rows, 1 + 3 * i), itemStyle: { color: colors[i % 3] } };
      });
      return option;
    },
    overdue: function (chart) {
      var option = base();
      option.xAxis = categoryAxis(column(chart.rows, 0));
      option.yAxis = { type: "value", minInterval: 1 };
      option.series = [
        { name: chart.headers[1], type: "bar", stack: "late", data: column(chart.rows, 1), itemStyle: { color: COLORS.red } },
        { name: chart.headers[2], type: "bar", stack: "late", data: column(chart.rows, 2), itemStyle: { color: COLORS.yellow } },
      ];
      return option;
    },
    topics: function (chart) {
      return horizontal(chart, 1, COLORS.blue);
    },
    clusters: function (chart) {
      return horizontal(chart, 2, COLORS.red);
    },
  };

  function horizontal(chart, index, color) {
    var rows = chart.rows.slice().reverse();
    var option = base();
    option.legend = { show: false };
    option.grid.top = 8;
    option.yAxis = {
      type: "category",
      data: column(rows, 0),
      axisLabel: { width: narrow() ? 110 : 220, overflow: "truncate", fontSize: 11 },
    };
    option.xAxis = { type: "value", minInterval: 1 };
    option.series = [{ name: chart.headers[index], type: "bar", data: column(rows, index), itemStyle: { color: color } }];
    return option;
  }

  function drawChart(element, chart, text) {
    var build = BUILDERS[element.dataset.chart];
    if (!build) {
      return null;
    }
    var instance = echarts.init(element, null, { renderer: "canvas" });
    var option = build(chart, text);
    if (!chart.rows.length) {
      option.title = { text: text.no_data, left: "center", top: "middle", textStyle: { color: COLORS.grey, fontSize: 14 } };
    }
    instance.setOption(option);
    instance.on("click", function (params) {
      var link = chart.links && chart.links[params.dataIndex];
      if (link && params.componentType === "series" && element.dataset.chart !== "topics") {
        window.location.href = link;
      }
    });
    return instance;
  }

  // Leaflet puts a string tooltip in as HTML; an element is put in as it is.
  function textTooltip(label) {
    var span = document.createElement("span");
    span.textContent = label;
    return span;
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
    var biggest = 1;
    points.forEach(function (p) {
      biggest = Math.max(biggest, p[2], p[3]);
    });
    function radius(n) {
      return 3 + 15 * Math.sqrt(n / biggest);
    }
    var bounds = [];
    points.forEach(function (p, i) {
      var at = [p[0], p[1]];
      var label = chart.rows[i][0] + " · " + text.visits + " " + p[2] + " · " + text.demands + " " + p[3];
      if (p[2]) {
        L.circleMarker(at, { radius: radius(p[2]), color: COLORS.blue, weight: 1, fillOpacity: 0.35 }).bindTooltip(textTooltip(label)).addTo(map);
      }
      if (p[3]) {
        L.circleMarker(at, { radius: radius(p[3]), color: COLORS.red, weight: 1, fillOpacity: 0.5 }).bindTooltip(textTooltip(label)).addTo(map);
      }
      bounds.push(at);
    });
    if (bounds.length) {
      map.fitBounds(bounds, { padding: [16, 16], maxZoom: 18 });
    } else {
      map.setView([31.2354, 121.4537], 15);
    }
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
          drawn.push(instance);
        }
      }
    });
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        drawn.forEach(function (instance) {
          instance.resize();
        });
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
