// tfjs-core alone registers no gradient functions (the @tensorflow/tfjs union package does this);
// training needs them for every op, so importing @attn/core-tensor registers them once.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
