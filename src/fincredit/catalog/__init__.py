"""The catalog (信用信息共享清单): the annex's categories and fields as versioned data."""
