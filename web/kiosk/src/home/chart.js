// A product's usage over time, drawn by uPlot (npm). This module is loaded only when a chart is
// shown (a chunk of its own), so the app's first screen paints without it.
import uPlot from "uplot";
import { lang, t, number } from "./strings.js";

// A rollup's point as one number: a reading's value, else the bucket's average, else its last.
const valueOf = (p) => p.value ?? p.avg ?? p.last ?? null;

// Draws `series` (one metric of the timeline) into `box`; returns
// the uPlot (to destroy it when the product or range changes).
export function draw(box, series) {
  const xs = series.points.map((p) => Date.parse(p.t) / 1000);
  const ys = series.points.map(valueOf);
  const width = Math.max(240, box.clientWidth || 320);
  // a tick at midnight says the day, any other its hour
  const tick = (s) => {
    const at = new Date(s * 1000);
    return at.getHours() === 0 && at.getMinutes() === 0
      ? at.toLocaleDateString(lang, { month: "numeric", day: "numeric" })
      : at.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", hour12: false });
  };
  const unit = t(`unit_${series.unit}`);
  const font = '12px "Noto Sans SC Variable", sans-serif'; // the shipped font, on the canvas too
  return new uPlot({
    width, height: 200,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: true } },
    axes: [
      { values: (u, splits) => splits.map(tick), stroke: "#1b1b1b", font, space: 56 },
      { values: (u, splits) => splits.map((s) => `${number(s)}${unit ? ` ${unit}` : ""}`), stroke: "#1b1b1b", size: 64, font },
    ],
    series: [{}, { stroke: "#0b5cad", width: 2, fill: "rgba(11, 92, 173, 0.12)", spanGaps: true }],
  }, [xs, ys], box);
}
