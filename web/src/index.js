// The book's live figures: find each <figure class="tme-widget"> on the page and bring it to
// life. Loaded with `defer` (the page is parsed) and only on pages that hold one.
import uplotCss from "uplot/dist/uPlot.min.css";
import widgetCss from "./widget.css";
import { mount } from "./widget.js";
import { MODELS } from "./models/index.js";

function start() {
  const style = document.createElement("style");
  style.textContent = uplotCss + "\n" + widgetCss;
  document.head.appendChild(style);
  for (const figure of document.querySelectorAll("figure.tme-widget")) {
    mount(figure, MODELS);
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
