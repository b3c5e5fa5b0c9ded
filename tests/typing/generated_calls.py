"""Type-checked by mypy (not run by pytest): the generated client's calls are typed as the spec says."""

from __future__ import annotations

from truex_client import Client
from truex_client.api.balances import list_balances
from truex_client.models import BalanceList, ErrorEnvelope
from truex_client.types import Response


def balances(client: Client) -> BalanceList | ErrorEnvelope | None:
    detailed: Response[BalanceList | ErrorEnvelope] = list_balances.sync_detailed(
        client=client, asset_name="BTC", size=10
    )
    assert detailed.status_code >= 100
    return list_balances.sync(client=client, client_id="78901985048264710")
