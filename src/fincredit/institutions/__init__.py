"""Institutions (接入机构) and docked platforms (融资信用服务平台): onboarding lifecycle and credentials."""
