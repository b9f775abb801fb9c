"""Generated MEXC spot v3 protobuf modules.  Do not edit: run scripts/gen_proto.py.

Built from proto/mexc/*.proto (field numbers of mexcdevelop/websocket-proto@7b8ac7a6) with
grpcio-tools==1.85.1.
"""
