"""The screen's network: MiniLM encoder, mean pooling, one linear layer of 20 outputs.

Outputs per window (logits): [urgent or higher, emergency, then one per concept]. A
message's logits are the maximum over its windows (multiple-instance learning: a story is
as serious as its most serious part). The level outputs are two sigmoids (ordinal); the
concepts one softmax: which red flag it is, given that it is one.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoModel

from chatbot.triage.concepts import CONCEPTS

LEVEL_OUTPUTS = 2  # P(urgent or higher), P(emergency)
OUTPUTS = LEVEL_OUTPUTS + len(CONCEPTS)


class ScreenNetwork(nn.Module):
    def __init__(self, base_model_path: str) -> None:
        super().__init__()
        self.encoder = AutoModel.from_pretrained(base_model_path)
        hidden = self.encoder.config.hidden_size
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(hidden, OUTPUTS)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits, one row per window."""
        states = self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=torch.zeros_like(input_ids),
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.head(self.dropout(pooled))


class LogitsForExport(nn.Module):
    """What the ONNX file computes: per-window logits. The server takes the maximum over
    windows, then a sigmoid for the two level outputs and a softmax over the concepts
    (chatbot.screen.model), as the training loss does."""

    def __init__(self, network: ScreenNetwork) -> None:
        super().__init__()
        self.network = network

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.network(input_ids, attention_mask)
