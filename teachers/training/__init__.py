"""Reproducible training of the bundled countdown models (``python scripts/train_bundled_models.py``).

``tokenizer`` builds the shared tokenizer, ``data`` makes each model's seeded training text from
the countdown task's solver, ``recipes`` says what each bundled model is, and ``train`` runs the
loop and writes standard Hugging Face directories into ``teachers/models/<name>/``.
Needs the ``hf`` extra (torch, transformers, tokenizers, safetensors).
"""
