"""Training the AutoCut model: vocabulary extension, the alignment stage, SFT, export.

`adcut train align` extends a base language model's vocabulary with the RQ-VAE tokens and
trains only their new embedding rows on whole ads; `adcut train sft` fine-tunes the result on
the four tasks; `adcut train export` writes a plain Hugging Face folder. The engine is the
Hugging Face Trainer (with accelerate, and DeepSpeed where a recipe names it).
"""
