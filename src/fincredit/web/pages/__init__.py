"""Server-rendered portals (企业端、机构端、管理端、数据报送) and the public pages."""
