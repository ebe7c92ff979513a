// The live figures' models, by the name the book's `live-figure` directive uses.
import * as immune from "./immune.js";

export const MODELS = { immune };
