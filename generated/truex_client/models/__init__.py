"""Contains all the data models used in inputs/outputs"""

from .api_version import ApiVersion
from .api_version_info import ApiVersionInfo
from .api_version_list import ApiVersionList
from .api_version_status import ApiVersionStatus
from .asset import Asset
from .asset_fields import AssetFields
from .asset_list import AssetList
from .balance import Balance
from .balance_entity import BalanceEntity
from .balance_entity_status import BalanceEntityStatus
from .balance_list import BalanceList
from .book_top import BookTop
from .client_account import ClientAccount
from .client_info import ClientInfo
from .client_list import ClientList
from .client_response import ClientResponse
from .client_self_trade_prevention import ClientSelfTradePrevention
from .client_status import ClientStatus
from .client_type import ClientType
from .client_update_info import ClientUpdateInfo
from .client_update_request import ClientUpdateRequest
from .compute_quote import ComputeQuote
from .compute_quote_request import ComputeQuoteRequest
from .compute_quote_response import ComputeQuoteResponse
from .error_envelope import ErrorEnvelope
from .exec_inst_flag import ExecInstFlag
from .health import Health
from .health_response import HealthResponse
from .health_status import HealthStatus
from .id_type import IdType
from .instrument import Instrument
from .instrument_info import InstrumentInfo
from .instrument_list import InstrumentList
from .instrument_stats import InstrumentStats
from .instrument_status import InstrumentStatus
from .last_trade import LastTrade
from .liquidity_flag import LiquidityFlag
from .market_quote import MarketQuote
from .market_quote_info import MarketQuoteInfo
from .market_quote_list import MarketQuoteList
from .market_trade import MarketTrade
from .market_trade_list import MarketTradeList
from .modify_info import ModifyInfo
from .modify_order_info import ModifyOrderInfo
from .modify_order_type import ModifyOrderType
from .new_order_info import NewOrderInfo
from .order import Order
from .order_create_request import OrderCreateRequest
from .order_flag import OrderFlag
from .order_info import OrderInfo
from .order_list import OrderList
from .order_modify_request import OrderModifyRequest
from .order_response import OrderResponse
from .order_status import OrderStatus
from .order_stp import OrderStp
from .order_type import OrderType
from .pagination import Pagination
from .problem import Problem
from .problem_extensions import ProblemExtensions
from .qty_unit import QtyUnit
from .self_trade_prevention import SelfTradePrevention
from .side import Side
from .time_in_force import TimeInForce
from .trade import Trade
from .trade_list import TradeList
from .transfer import Transfer
from .transfer_create_request import TransferCreateRequest
from .transfer_info import TransferInfo
from .transfer_info_instructions import TransferInfoInstructions
from .transfer_list import TransferList
from .transfer_new import TransferNew
from .transfer_new_instructions import TransferNewInstructions
from .transfer_platform import TransferPlatform
from .transfer_response import TransferResponse
from .transfer_status import TransferStatus
from .transfer_type import TransferType
from .vwap_quote import VwapQuote
from .vwap_quote_request import VwapQuoteRequest
from .vwap_quote_response import VwapQuoteResponse

__all__ = (
    "ApiVersion",
    "ApiVersionInfo",
    "ApiVersionList",
    "ApiVersionStatus",
    "Asset",
    "AssetFields",
    "AssetList",
    "Balance",
    "BalanceEntity",
    "BalanceEntityStatus",
    "BalanceList",
    "BookTop",
    "ClientAccount",
    "ClientInfo",
    "ClientList",
    "ClientResponse",
    "ClientSelfTradePrevention",
    "ClientStatus",
    "ClientType",
    "ClientUpdateInfo",
    "ClientUpdateRequest",
    "ComputeQuote",
    "ComputeQuoteRequest",
    "ComputeQuoteResponse",
    "ErrorEnvelope",
    "ExecInstFlag",
    "Health",
    "HealthResponse",
    "HealthStatus",
    "IdType",
    "Instrument",
    "InstrumentInfo",
    "InstrumentList",
    "InstrumentStats",
    "InstrumentStatus",
    "LastTrade",
    "LiquidityFlag",
    "MarketQuote",
    "MarketQuoteInfo",
    "MarketQuoteList",
    "MarketTrade",
    "MarketTradeList",
    "ModifyInfo",
    "ModifyOrderInfo",
    "ModifyOrderType",
    "NewOrderInfo",
    "Order",
    "OrderCreateRequest",
    "OrderFlag",
    "OrderInfo",
    "OrderList",
    "OrderModifyRequest",
    "OrderResponse",
    "OrderStatus",
    "OrderStp",
    "OrderType",
    "Pagination",
    "Problem",
    "ProblemExtensions",
    "QtyUnit",
    "SelfTradePrevention",
    "Side",
    "TimeInForce",
    "Trade",
    "TradeList",
    "Transfer",
    "TransferCreateRequest",
    "TransferInfo",
    "TransferInfoInstructions",
    "TransferList",
    "TransferNew",
    "TransferNewInstructions",
    "TransferPlatform",
    "TransferResponse",
    "TransferStatus",
    "TransferType",
    "VwapQuote",
    "VwapQuoteRequest",
    "VwapQuoteResponse",
)
