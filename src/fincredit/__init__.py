"""fincredit — 融资信用服务平台及省级节点 (financing credit service platform and provincial node)."""

__version__ = "0.1.0"
