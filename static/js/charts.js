// Draws the time-series charts with uPlot (npm, see package.json) from the JSON the page embeds.
// The server already rendered an SVG sparkline and a data table; the chart replaces the sparkline.
(function () {
  "use strict";
  if (!window.uPlot) return;
  var colours = ["#1f3a93", "#0b7a34", "#a05a00"];
  // uPlot widens a time scale of one point to 1,000 days: show the hour or day either side of
  // it instead (the point's width, "step", from analytics/charts.py).
  function timeRange(step) {
    return function (u, min, max) {
      var x = u.data[0];
      return x.length === 1 ? [x[0] - step, x[0] + step] : [min, max];
    };
  }
  // The tables beside the charts count hours and days in UTC on a 24-hour clock: so do the axis
  // and the legend (uPlot would draw the browser's zone, in the US style for English).
  var lang = document.documentElement.lang || undefined;
  var hourFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" });
  var dayFormat = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", timeZone: "UTC" });
  function inUtc(seconds) { return window.uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"); }
  function tickLabels(u, splits) {
    return splits.map(function (seconds) {
      var date = new Date(seconds * 1000);
      return seconds % 86400 === 0 ? dayFormat.format(date) : hourFormat.format(date);
    });
  }
  function legendTime(u, seconds) {
    if (seconds == null) return "--";
    var date = new Date(seconds * 1000);
    return dayFormat.format(date) + " " + hourFormat.format(date);
  }
  document.querySelectorAll("[data-chart]").forEach(function (holder) {
    var source = document.getElementById(holder.getAttribute("data-chart"));
    if (!source) return;
    var data = JSON.parse(source.textContent);
    if (!data.x || data.x.length < 1) return;
    var width = Math.max(holder.clientWidth || holder.parentNode.clientWidth || 300, 280);
    var series = [{ value: legendTime }].concat(data.series.map(function (s, i) {
      return { label: s.label, stroke: colours[i % colours.length], width: 2, scale: i === 0 ? "y" : "y" + i };
    }));
    var axes = [{ values: tickLabels }].concat(data.series.map(function (s, i) {
      return { scale: i === 0 ? "y" : "y" + i, side: i === 0 ? 3 : 1, grid: { show: i === 0 } };
    }));
    var spark = holder.parentNode.querySelector(".sparkline");
    // An SVG element has no `hidden` property, and the attribute does not hide it everywhere.
    if (spark) spark.style.display = "none";
    new window.uPlot(
      {
        width: width, height: 220, series: series, axes: axes, tzDate: inUtc,
        scales: { x: { time: true, range: timeRange(data.step || 3600) } }
      },
      [data.x].concat(data.series.map(function (s) { return s.values; })),
      holder
    );
  });
})();
