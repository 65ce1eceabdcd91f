"""The Merchant: a Fighter (foraging, gathering as it passes resources, using items, and earning
gold from the NPCs it hunts) that trades on the exchange, so markets have liquidity without
learning: it lists the items it will not use and buys the upgrades it can wear
(:func:`~neural_mmo.agents.items.merchant_actions`). Without the exchange it plays as a Fighter."""

from __future__ import annotations

import numpy as np

from neural_mmo.agents.fighter import FighterPolicy
from neural_mmo.agents.items import merchant_actions
from neural_mmo.observe.heads import ActionHead


class MerchantPolicy(FighterPolicy):
    """Forages, hunts, uses items, sells what it will not use and buys upgrades (module docs)."""

    name = "merchant"

    def __init__(self, layout, seed: int = 0, keep: int = 2):
        super().__init__(layout, seed)
        self.keep = keep

    def act(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        out = super().act(observations)
        config = self.layout.config
        if not config.exchange.enabled:
            return out
        mask, offsets, sizes = (
            observations["action_mask"],
            self.layout.action_offsets,
            self.layout.action_sizes,
        )
        sell, price, buy = ActionHead.SELL, ActionHead.SELL_PRICE, ActionHead.BUY
        merchant_actions(
            observations["items"], observations["entities"],
            observations.get("professions", np.zeros((out.shape[0], 0), np.int16)),
            mask[:, offsets[sell] : offsets[sell] + sizes[sell]],
            mask[:, offsets[price] : offsets[price] + sizes[price]],
            mask[:, offsets[buy] : offsets[buy] + sizes[buy]],
            config.item.max_level, self.keep, out[:, sell], out[:, price], out[:, buy],
        )  # fmt: skip
        return out
