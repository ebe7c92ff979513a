// The live figures' models, by the name the book's `live-figure` directive uses.
import * as emt from "./emt.js";
import * as growth from "./growth.js";
import * as immune from "./immune.js";

export const MODELS = { emt, growth, immune };
