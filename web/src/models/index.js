// The live figures' models, by the name the book's `live-figure` directive uses.
import * as cafs from "./cafs.js";
import * as ecosystem from "./ecosystem.js";
import * as emt from "./emt.js";
import * as growth from "./growth.js";
import * as immune from "./immune.js";
import * as therapy from "./therapy.js";

export const MODELS = { cafs, ecosystem, emt, growth, immune, therapy };
