"""One module per validation gate; each exposes ``run(ctx) -> GateResult``."""
