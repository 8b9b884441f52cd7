// The report's charts: drawn once from the json_script data, without animation so that printing (or a PDF made
// by the browser) captures the finished picture; resized to the paper before printing and back afterwards.
// Area, topic and department names are imported data: tooltips are drawn on the canvas ("richText"), never as HTML.
(function () {
  "use strict";

  function start() {
    var source = document.getElementById("report-charts");
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var charts = [];

    function draw(id, option, rows) {
      var element = document.getElementById(id);
      if (!element) { return; }
      if (rows) { element.style.height = Math.max(260, rows * 24 + 70) + "px"; }  // one band per area or topic
      var chart = echarts.init(element, null, { renderer: "canvas" });
      option.animation = false;
      option.grid = option.grid || { left: 8, right: 16, top: 36, bottom: 8, containLabel: true };
      option.tooltip = option.tooltip || { trigger: "axis", renderMode: "richText" };
      chart.setOption(option);
      charts.push(chart);
    }

    function bars(name, values, color) {
      return { name: name, type: "bar", data: values, itemStyle: { color: color } };
    }

    var visits = data.visits;
    draw("chart-visits", {
      legend: { top: 0 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: visits.areas, inverse: true },
      series: [bars(visits.labels[0], visits.households, "#b8cce4"), bars(visits.labels[1], visits.visited, "#2f6fb3")],
    }, visits.areas.length);
    var months = data.months;
    draw("chart-months", {
      legend: { top: 0 },
      xAxis: { type: "category", data: months.months },
      yAxis: { type: "value" },
      series: [{ name: months.label, type: "line", data: months.visits, itemStyle: { color: "#2f6fb3" } }],
    });
    var topics = data.topics;
    draw("chart-topics", {
      legend: { top: 0 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: topics.topics, inverse: true },
      series: [bars(topics.label, topics.counts, "#d9822b")],
    }, topics.topics.length);
    var departments = data.departments;
    draw("chart-departments", {
      legend: { top: 0 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: departments.departments, inverse: true },
      series: [
        bars(departments.labels[0], departments.dispatches, "#2f6fb3"),
        bars(departments.labels[1], departments.resolved, "#3a9a5b"),
        bars(departments.labels[2], departments.returned, "#c0392b"),
      ],
    }, departments.departments.length);

    function resize() { charts.forEach(function (chart) { chart.resize(); }); }
    window.addEventListener("resize", resize);
    window.addEventListener("beforeprint", resize);
    window.addEventListener("afterprint", resize);
    if (window.matchMedia) {
      var print = window.matchMedia("print");
      if (print.addEventListener) { print.addEventListener("change", resize); }
    }

    var button = document.getElementById("report-print");
    if (button) { button.addEventListener("click", function () { window.print(); }); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
