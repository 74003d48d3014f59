"""The RQ-VAE network of AutoCut (`emb_vqvae/modeling/vq_vae.py::RQVAE`), built from a TokenizerConfig.

    x (input_dim) -> encoder MLP -> z (codebook_dim) -> ResidualVQ (levels x codebook_size)
                  -> sum of the chosen unit code vectors -> decoder MLP -> recon (input_dim)

The quantizer is vector-quantize-pytorch's `ResidualVQ` with the paper's settings: cosine
similarity (inputs and code rows L2-normalised for the lookup; each level subtracts a unit-norm
code vector from the un-normalised residual), k-means initialisation on the first batch seen,
EMA codebook updates (not gradients), dead-code re-seeding, one codebook per level, and the
library's rotation-trick gradients through the quantizer.

Training uses the library's forward (it owns the EMA and dead-code updates). Encoding a trained
model uses `nearest_codes`, the same arithmetic without its training machinery: the library's
eval path would also run a k-means initialisation on an un-initialised codebook and builds a
one-hot matrix per level; ours refuses the first and skips the second, and gives exactly the
library's codes (tests/tokens/test_rqvae.py checks this).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from vector_quantize_pytorch import ResidualVQ

from adcut.tokens.config import TokenizerConfig

# vector-quantize-pytorch L2-normalises with this epsilon (vector_quantize_pytorch.l2norm);
# nearest_codes must use the same one to pick the same codes.
_L2NORM_EPS = 1e-6


def mlp(in_dim: int, out_dim: int, hidden: Sequence[int]) -> nn.Sequential:
    """The paper's MLP: Linear -> GELU -> BatchNorm1d for each hidden size, then a final Linear."""
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), nn.GELU(), nn.BatchNorm1d(h)]
        d = h
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


def reconstruction_loss(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The paper's training loss (`loss_type: cos`): mean of 1 - cos(recon, x)."""
    return (1.0 - F.cosine_similarity(recon, x, dim=-1)).mean()


class RQVAE(nn.Module):
    """Encoder MLP, residual vector quantizer and decoder MLP of one tokenizer."""

    def __init__(self, config: TokenizerConfig):
        super().__init__()
        self.config = config
        self.encoder = mlp(config.input_dim, config.codebook_dim, config.encoder_hidden)
        self.decoder = mlp(config.codebook_dim, config.input_dim, list(reversed(config.encoder_hidden)))
        self.quantizer = ResidualVQ(
            dim=config.codebook_dim,
            num_quantizers=config.levels,
            codebook_size=config.codebook_size,
            kmeans_init=True,
            kmeans_iters=config.kmeans_iters,
            use_cosine_sim=True,
            threshold_ema_dead_code=config.threshold_ema_dead_code,
            shared_codebook=False,
            decay=config.ema_decay,
            # the library defaults the paper relied on, spelled out so an upgrade cannot move them
            commitment_weight=1.0,
            rotation_trick=True,
            stochastic_sample_codes=False,
        )

    # -- training -------------------------------------------------------------------------------

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(recon (B, input_dim), codes (B, levels) int64, commitment loss (scalar)).

        In training mode this also updates the codebooks (k-means on the first call, then EMA
        and dead-code re-seeding on every call), as the library does. The commitment loss is
        returned for logging; the paper trains with weight 0 on it."""
        z = self.encoder(x)
        quantized, codes, commit = self.quantizer(z, sample_codebook_temp=0.0)
        recon = self.decoder(quantized)
        return recon, codes.long(), commit.sum()

    @torch.no_grad()
    def init_codebooks(self, x: torch.Tensor) -> None:
        """Run each level's k-means initialisation on `x` (B >= codebook_size) without any
        training side effect (eval mode: no EMA update, BatchNorm uses its running statistics).
        Levels that are already initialised are left alone."""
        was_training = self.training
        self.eval()
        try:
            self.quantizer(self.encoder(x))
        finally:
            self.train(was_training)

    @torch.no_grad()
    def recalibrate_batchnorm(self, batches: Iterable[torch.Tensor]) -> None:
        """Set every BatchNorm's running mean and variance to the plain average of the batch
        statistics that training mode sees on `batches`, for the current weights.

        Training updates them as an EMA (momentum 0.1) that starts from mean 0, variance 1. The
        hidden activations of unit-norm embeddings have variances near 1e-4, so for the first
        ~100 steps the running variance is mostly that starting 1: eval mode then scales the
        latent differently from training and picks other codes (adcut-video on 20k synthetic
        clustered unit vectors, after 30 steps: 2% of the codes agreed between eval and training
        mode, and the cosine was 0.05 in eval mode instead of 0.3).
        The paper's runs had thousands of steps; a personal library may have a few dozen. Only
        the running statistics change: no weight, no codebook (the quantizer is in eval mode)."""
        norms = [m for m in self.modules() if isinstance(m, nn.BatchNorm1d)]
        momenta = [bn.momentum for bn in norms]
        was_training = self.training
        self.eval()
        for bn in norms:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the batches given
            bn.train()
        try:
            for xb in batches:
                self.decoder(self.quantizer.get_output_from_indices(self.nearest_codes(self.encoder(xb))))
        finally:
            for bn, momentum in zip(norms, momenta):
                bn.momentum = momentum
            self.train(was_training)

    # -- inference ------------------------------------------------------------------------------

    @property
    def codebooks_ready(self) -> bool:
        """True once every level's codebook has been initialised (trained or init_codebooks)."""
        return all(bool(layer._codebook.initted) for layer in self.quantizer.layers)

    def codebook(self, level: int) -> torch.Tensor:
        """(codebook_size, codebook_dim) unit-norm code vectors of one level."""
        return self.quantizer.layers[level]._codebook.embed[0]

    def nearest_codes(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (B, levels) int64 of latents z (B, codebook_dim): at each level, the code with the
        highest cosine to the residual, whose unit vector is then subtracted from the residual.

        The arithmetic is the library's (same normalisation epsilon, same einsum, argmax that
        keeps the first of equal scores), so the codes are exactly those of the library's forward;
        nothing is updated, and no k-means runs."""
        if not self.codebooks_ready:
            raise RuntimeError("the codebooks are not initialised; train the model (or call init_codebooks)")
        residual = z.detach().float()
        codes = []
        for layer in self.quantizer.layers:
            embed = layer._codebook.embed.detach()  # (1, codebook_size, codebook_dim), unit rows
            flat = F.normalize(residual, p=2, dim=-1, eps=_L2NORM_EPS)
            # the library's einsum "h n d, h c d -> h n c" is this bmm (same operands, same order)
            sim = torch.bmm(flat.unsqueeze(0), embed.transpose(1, 2))[0]
            # numpy's argmax (SIMD, first of equal maxima, like torch's) is ~10x faster than
            # torch's on (n, 256) rows, and that made up half of the encoding time
            index = torch.from_numpy(np.ascontiguousarray(sim.numpy()).argmax(axis=-1))
            residual = residual - embed[0].index_select(0, index)
            codes.append(index)
        return torch.stack(codes, dim=-1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes (B, levels) int64. Call in eval mode for deterministic codes."""
        return self.nearest_codes(self.encoder(x))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Reconstructed vectors (B, input_dim) from codes (B, levels)."""
        return self.decoder(self.quantizer.get_output_from_indices(codes.long()))

    def search_codes(self, x: torch.Tensor, beam: int, start: torch.Tensor | None = None) -> torch.Tensor:
        """Codes (levels,) int64 of one vector x (input_dim,), chosen for their decoding: a beam
        search over the levels that keeps the `beam` code prefixes whose decoded partial sums
        (the sum of their code vectors, through the decoder) have the highest cosine to x, and
        returns the full code string whose decoding is closest to x. `start` (levels,), when
        given, is also a candidate, so the result decodes at least as close to x as `start` does
        (pass the greedy codes of `nearest_codes`).

        This is the training objective (`reconstruction_loss`) optimised per vector, where
        `encode` predicts the codes from the encoder's latent: an amortised guess that is good on
        vectors like the training ones and drifts on others (see Tokenizer.encode_searched).
        Cost: codebook_size + (levels - 1) * beam * codebook_size decoder rows. Deterministic:
        each level's candidates go through the decoder in one fixed-size call, and ties keep the
        earlier prefix and the lower code."""
        if not self.codebooks_ready:
            raise RuntimeError("the codebooks are not initialised; train the model (or call init_codebooks)")
        if beam < 1:
            raise ValueError(f"beam must be at least 1 (got {beam})")
        target = F.normalize(x.detach().float().reshape(1, -1), p=2, dim=-1)[0]
        books = [self.codebook(level).detach() for level in range(len(self.quantizer.layers))]
        size, dim = books[0].shape
        sums = torch.zeros(1, dim)  # the code vectors' sum of each kept prefix
        prefixes = np.zeros((1, 0), dtype=np.int64)
        for book in books:
            candidates = (sums[:, None, :] + book[None, :, :]).reshape(-1, dim)  # prefix-major
            score = (F.normalize(self.decoder(candidates), p=2, dim=-1) @ target).numpy()
            keep = np.argsort(-score, kind="stable")[:beam]
            sums = candidates[torch.from_numpy(keep)]
            prefixes = np.concatenate([prefixes[keep // size], (keep % size)[:, None]], axis=1)
        best = torch.from_numpy(prefixes[0])
        if start is not None:
            both = torch.stack([start.long().reshape(-1), best])
            score = F.normalize(self.decode(both), p=2, dim=-1) @ target
            best = both[1] if bool(score[1] > score[0]) else both[0]
        return best
