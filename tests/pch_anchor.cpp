// Anchor translation unit: builds the precompiled LibTorch header that engine tests reuse.
