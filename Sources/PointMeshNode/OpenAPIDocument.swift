/// The OpenAPI 3.1 description of the HTTP API, served at `GET /openapi.json` and written to
/// `docs/openapi.json` by `pointmesh openapi`. A test checks every route is described here and
/// that the file in docs/ matches.
public enum OpenAPIDocument {
    public static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "PointMesh node API",
    "version": "1.0.0",
    "description": "The HTTP API of one PointMesh node: earn, refund and redeem loyalty points, look up accounts. Money is in fen (1 yuan = 100 fen), points are integers, times are RFC 3339 in UTC. Every error is {\"error\": {\"code\", \"message\"}}."
  },
  "servers": [
    {
      "url": "http://127.0.0.1:8080"
    }
  ],
  "paths": {
    "/v1/purchases": {
      "post": {
        "operationId": "createPurchase",
        "summary": "Earn points for a purchase (1 point per whole yuan).",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/PurchaseRequest"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "Points earned. The write is durable on this node.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/PurchaseResult"
                }
              }
            }
          },
          "200": {
            "description": "The same write was made before (same id and body): the original result.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/PurchaseResult"
                }
              }
            }
          },
          "409": {
            "description": "The id was used for a different body, or the ledger refused the write. Error codes: `idempotency_conflict`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "415": {
            "description": "Content-Type is not application/json. Error codes: `unsupported_media_type`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "400": {
            "description": "The request is malformed or a field is invalid; nothing was written. Error codes: `bad_request`, `invalid_json`, `invalid_field`, `missing_field`, `unknown_field` (a field the request does not define).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "408": {
            "description": "The request did not arrive in time. Error codes: `request_timeout`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "411": {
            "description": "A body was sent without Content-Length. Error codes: `length_required`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "description": "The body exceeds 1 MiB. Error codes: `body_too_large`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "431": {
            "description": "The request line and headers exceed 16 KiB. Error codes: `headers_too_large`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The node is overloaded, shutting down, or can't write to its disk; nothing was recorded. Error codes: `overloaded`, `shutting_down`, `storage_full`, `storage_unavailable`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "description": "An internal error; the write was not made. Error codes: `internal_error`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/v1/refunds": {
      "post": {
        "operationId": "createRefund",
        "summary": "Reverse a receipt's points pro rata to the refunded amount.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RefundRequest"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "Points reversed; what was already spent becomes debt. The write is durable on this node.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RefundResult"
                }
              }
            }
          },
          "200": {
            "description": "The same write was made before (same id and body): the original result.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RefundResult"
                }
              }
            }
          },
          "409": {
            "description": "The id was used for a different body, or the ledger refused the write. Error codes: `idempotency_conflict`, `refund_exceeds_purchase`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "415": {
            "description": "Content-Type is not application/json. Error codes: `unsupported_media_type`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "No purchase with that receipt on this node. Error codes: `receipt_not_found`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "400": {
            "description": "The request is malformed or a field is invalid; nothing was written. Error codes: `bad_request`, `invalid_json`, `invalid_field`, `missing_field`, `unknown_field` (a field the request does not define).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "408": {
            "description": "The request did not arrive in time. Error codes: `request_timeout`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "411": {
            "description": "A body was sent without Content-Length. Error codes: `length_required`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "description": "The body exceeds 1 MiB. Error codes: `body_too_large`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "431": {
            "description": "The request line and headers exceed 16 KiB. Error codes: `headers_too_large`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The node is overloaded, shutting down, or can't write to its disk; nothing was recorded. Error codes: `overloaded`, `shutting_down`, `storage_full`, `storage_unavailable`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "description": "An internal error; the write was not made. Error codes: `internal_error`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/v1/redemptions": {
      "post": {
        "operationId": "createRedemption",
        "summary": "Spend points.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RedemptionRequest"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "Points redeemed. The write is durable on this node.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RedemptionResult"
                }
              }
            }
          },
          "200": {
            "description": "The same write was made before (same id and body): the original result.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RedemptionResult"
                }
              }
            }
          },
          "409": {
            "description": "The id was used for a different body, or the ledger refused the write. Error codes: `idempotency_conflict`, `insufficient_points`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "415": {
            "description": "Content-Type is not application/json. Error codes: `unsupported_media_type`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "400": {
            "description": "The request is malformed or a field is invalid; nothing was written. Error codes: `bad_request`, `invalid_json`, `invalid_field`, `missing_field`, `unknown_field` (a field the request does not define).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "408": {
            "description": "The request did not arrive in time. Error codes: `request_timeout`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "411": {
            "description": "A body was sent without Content-Length. Error codes: `length_required`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "description": "The body exceeds 1 MiB. Error codes: `body_too_large`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "431": {
            "description": "The request line and headers exceed 16 KiB. Error codes: `headers_too_large`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The node is overloaded, shutting down, or can't write to its disk; nothing was recorded. Error codes: `overloaded`, `shutting_down`, `storage_full`, `storage_unavailable`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "description": "An internal error; the write was not made. Error codes: `internal_error`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/v1/accounts/{account_id}": {
      "get": {
        "operationId": "getAccount",
        "summary": "An account's balance; an account never seen has balance 0.",
        "parameters": [
          {
            "name": "account_id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128,
              "pattern": "^[A-Za-z0-9._:-]{1,128}$"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The account.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Account"
                }
              }
            }
          },
          "400": {
            "description": "The request is malformed or a field is invalid; nothing was written. Error codes: `bad_request`, `invalid_json`, `invalid_field`, `missing_field`, `unknown_field` (a field the request does not define).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "408": {
            "description": "The request did not arrive in time. Error codes: `request_timeout`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "431": {
            "description": "The request line and headers exceed 16 KiB. Error codes: `headers_too_large`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The node is overloaded or shutting down. Error codes: `overloaded`, `shutting_down`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "description": "An internal error; the write was not made. Error codes: `internal_error`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/v1/accounts/{account_id}/entries": {
      "get": {
        "operationId": "listAccountEntries",
        "summary": "An account's entries, newest first, paged.",
        "parameters": [
          {
            "name": "account_id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 128,
              "pattern": "^[A-Za-z0-9._:-]{1,128}$"
            }
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 500,
              "default": 50
            }
          },
          {
            "name": "before",
            "in": "query",
            "required": false,
            "description": "The next_cursor of the previous page; empty means the first page.",
            "schema": {
              "type": "string",
              "pattern": "^$|^-?[0-9]{1,18}\\.[0-9]{1,18}\\.[0-9]{1,18}\\.[A-Za-z0-9._:-]{1,128}$"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "One page of entries.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/EntryPage"
                }
              }
            }
          },
          "400": {
            "description": "The request is malformed or a field is invalid; nothing was written. Error codes: `bad_request`, `invalid_json`, `invalid_field`, `missing_field`, `unknown_field` (a field the request does not define).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "408": {
            "description": "The request did not arrive in time. Error codes: `request_timeout`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "431": {
            "description": "The request line and headers exceed 16 KiB. Error codes: `headers_too_large`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The node is overloaded or shutting down. Error codes: `overloaded`, `shutting_down`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "description": "An internal error; the write was not made. Error codes: `internal_error`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/v1/status": {
      "get": {
        "operationId": "getStatus",
        "summary": "This node's id, role, entry count, ledger digest and peers.",
        "responses": {
          "200": {
            "description": "Node status.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Status"
                }
              }
            }
          },
          "408": {
            "description": "The request did not arrive in time. Error codes: `request_timeout`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "431": {
            "description": "The request line and headers exceed 16 KiB. Error codes: `headers_too_large`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The node is overloaded or shutting down. Error codes: `overloaded`, `shutting_down`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "description": "An internal error; the write was not made. Error codes: `internal_error`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/metrics": {
      "get": {
        "operationId": "getMetrics",
        "summary": "Prometheus text exposition.",
        "responses": {
          "200": {
            "description": "Metrics.",
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "getOpenAPI",
        "summary": "This document.",
        "responses": {
          "200": {
            "description": "The OpenAPI document.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    },
    "/v1/cluster/retirements": {
      "post": {
        "operationId": "retireNode",
        "summary": "Retire a node from the cluster: it leaves every peer list (as gossip spreads this) and is refused if it comes back under the same id. Its entries stay.",
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "node_id"
                ],
                "properties": {
                  "node_id": {
                    "$ref": "#/components/schemas/Id"
                  },
                  "force": {
                    "type": [
                      "boolean",
                      "null"
                    ],
                    "description": "Retire an id this node has never heard of (otherwise 404 `unknown_node`)."
                  }
                },
                "additionalProperties": false
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The node is retired.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "retired"
                  ],
                  "properties": {
                    "retired": {
                      "$ref": "#/components/schemas/Id"
                    }
                  }
                }
              }
            }
          },
          "400": {
            "description": "The request is malformed or a field is invalid; nothing was written. Error codes: `bad_request`, `invalid_json`, `invalid_field`, `missing_field`, `unknown_field` (a field the request does not define).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "408": {
            "description": "The request did not arrive in time. Error codes: `request_timeout`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "411": {
            "description": "A body was sent without Content-Length. Error codes: `length_required`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "413": {
            "description": "The body exceeds 1 MiB. Error codes: `body_too_large`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "431": {
            "description": "The request line and headers exceed 16 KiB. Error codes: `headers_too_large`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "503": {
            "description": "The node is overloaded, shutting down, or can't write to its disk; nothing was recorded. Error codes: `overloaded`, `shutting_down`, `storage_full`, `storage_unavailable`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "500": {
            "description": "An internal error; the write was not made. Error codes: `internal_error`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "The node was asked to retire itself; ask another node. Error codes: `cannot_retire_self`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "This node has never heard of that node id; check it, or send `force`. Error codes: `unknown_node`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Id": {
        "type": "string",
        "minLength": 1,
        "maxLength": 128,
        "pattern": "^[A-Za-z0-9._:-]{1,128}$"
      },
      "Error": {
        "type": "object",
        "required": [
          "error"
        ],
        "properties": {
          "error": {
            "type": "object",
            "required": [
              "code",
              "message"
            ],
            "properties": {
              "code": {
                "type": "string",
                "pattern": "^[a-z_]+$"
              },
              "message": {
                "type": "string"
              }
            }
          }
        }
      },
      "PurchaseRequest": {
        "type": "object",
        "required": [
          "receipt_id",
          "account_id",
          "amount_fen"
        ],
        "properties": {
          "receipt_id": {
            "$ref": "#/components/schemas/Id"
          },
          "account_id": {
            "$ref": "#/components/schemas/Id"
          },
          "amount_fen": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000000000000
          },
          "items": {
            "type": [
              "array",
              "null"
            ],
            "maxItems": 1000,
            "items": {
              "type": "object",
              "required": [
                "sku",
                "category",
                "amount_fen"
              ],
              "properties": {
                "sku": {
                  "$ref": "#/components/schemas/Id"
                },
                "category": {
                  "$ref": "#/components/schemas/Id"
                },
                "amount_fen": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1000000000000
                }
              },
              "additionalProperties": false
            },
            "description": "Receipt lines; absent or null when the till sends none."
          }
        },
        "additionalProperties": false
      },
      "RefundRequest": {
        "type": "object",
        "required": [
          "refund_id",
          "receipt_id",
          "amount_fen"
        ],
        "properties": {
          "refund_id": {
            "$ref": "#/components/schemas/Id"
          },
          "receipt_id": {
            "$ref": "#/components/schemas/Id"
          },
          "amount_fen": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000000000000
          }
        },
        "additionalProperties": false
      },
      "RedemptionRequest": {
        "type": "object",
        "required": [
          "request_id",
          "account_id",
          "points"
        ],
        "properties": {
          "request_id": {
            "$ref": "#/components/schemas/Id"
          },
          "account_id": {
            "$ref": "#/components/schemas/Id"
          },
          "points": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000000000000
          },
          "reward_id": {
            "anyOf": [
              {
                "$ref": "#/components/schemas/Id"
              },
              {
                "type": "null"
              }
            ]
          },
          "member_id": {
            "anyOf": [
              {
                "$ref": "#/components/schemas/Id"
              },
              {
                "type": "null"
              }
            ]
          }
        },
        "additionalProperties": false
      },
      "PurchaseResult": {
        "type": "object",
        "required": [
          "entry_id",
          "account_id",
          "points",
          "balance",
          "created_at",
          "debt_delta",
          "replayed"
        ],
        "properties": {
          "entry_id": {
            "type": "string"
          },
          "account_id": {
            "$ref": "#/components/schemas/Id"
          },
          "points": {
            "type": "integer",
            "minimum": 0
          },
          "balance": {
            "type": "integer"
          },
          "created_at": {
            "type": "string",
            "format": "date-time",
            "description": "When the entry was written at its origin."
          },
          "debt_delta": {
            "type": "integer",
            "description": "Change in the account's debt: negative when earnings repaid debt."
          },
          "replayed": {
            "type": "boolean",
            "description": "True when this write had been made before: nothing new happened and the body is the original result (HTTP 200)."
          }
        }
      },
      "RefundResult": {
        "type": "object",
        "required": [
          "entry_id",
          "account_id",
          "points_reversed",
          "balance",
          "created_at",
          "debt_delta",
          "replayed"
        ],
        "properties": {
          "entry_id": {
            "type": "string"
          },
          "account_id": {
            "$ref": "#/components/schemas/Id"
          },
          "points_reversed": {
            "type": "integer",
            "minimum": 0
          },
          "balance": {
            "type": "integer"
          },
          "created_at": {
            "type": "string",
            "format": "date-time",
            "description": "When the entry was written at its origin."
          },
          "debt_delta": {
            "type": "integer",
            "description": "Points that became debt (already spent when refunded)."
          },
          "replayed": {
            "type": "boolean",
            "description": "True when this write had been made before: nothing new happened and the body is the original result (HTTP 200)."
          }
        }
      },
      "RedemptionResult": {
        "type": "object",
        "required": [
          "entry_id",
          "account_id",
          "points",
          "balance",
          "created_at",
          "debt_delta",
          "replayed"
        ],
        "properties": {
          "entry_id": {
            "type": "string"
          },
          "account_id": {
            "$ref": "#/components/schemas/Id"
          },
          "points": {
            "type": "integer",
            "minimum": 1
          },
          "balance": {
            "type": "integer"
          },
          "created_at": {
            "type": "string",
            "format": "date-time",
            "description": "When the entry was written at its origin."
          },
          "debt_delta": {
            "type": "integer",
            "description": "Change in the account's debt: negative when earnings repaid debt."
          },
          "replayed": {
            "type": "boolean",
            "description": "True when this write had been made before: nothing new happened and the body is the original result (HTTP 200)."
          }
        }
      },
      "Account": {
        "type": "object",
        "required": [
          "account_id",
          "balance",
          "debt",
          "family_id",
          "frozen",
          "expiring"
        ],
        "properties": {
          "account_id": {
            "$ref": "#/components/schemas/Id"
          },
          "balance": {
            "type": "integer"
          },
          "debt": {
            "type": "integer",
            "description": "Points owed after refunds of spent points; later earnings repay it first."
          },
          "family_id": {
            "type": [
              "string",
              "null"
            ]
          },
          "frozen": {
            "type": "boolean"
          },
          "expiring": {
            "type": "array",
            "items": {
              "type": "object",
              "required": [
                "points",
                "expires_at"
              ],
              "properties": {
                "points": {
                  "type": "integer"
                },
                "expires_at": {
                  "type": "string",
                  "format": "date-time"
                }
              }
            }
          }
        }
      },
      "Entry": {
        "type": "object",
        "required": [
          "entry_id",
          "origin",
          "sequence",
          "kind",
          "account_id",
          "points",
          "balance_delta",
          "debt_delta",
          "created_at"
        ],
        "properties": {
          "entry_id": {
            "type": "string"
          },
          "origin": {
            "$ref": "#/components/schemas/Id"
          },
          "sequence": {
            "type": "integer",
            "minimum": 1
          },
          "kind": {
            "type": "string",
            "enum": [
              "earn",
              "refund",
              "redeem"
            ]
          },
          "account_id": {
            "$ref": "#/components/schemas/Id"
          },
          "points": {
            "type": "integer",
            "minimum": 0
          },
          "balance_delta": {
            "type": "integer"
          },
          "debt_delta": {
            "type": "integer"
          },
          "created_at": {
            "type": "string",
            "format": "date-time"
          },
          "receipt_id": {
            "$ref": "#/components/schemas/Id"
          },
          "refund_id": {
            "$ref": "#/components/schemas/Id"
          },
          "request_id": {
            "$ref": "#/components/schemas/Id"
          },
          "amount_fen": {
            "type": "integer"
          },
          "reward_id": {
            "$ref": "#/components/schemas/Id"
          },
          "member_id": {
            "$ref": "#/components/schemas/Id"
          },
          "items": {
            "type": "array",
            "items": {
              "type": "object",
              "required": [
                "sku",
                "category",
                "amount_fen"
              ],
              "properties": {
                "sku": {
                  "$ref": "#/components/schemas/Id"
                },
                "category": {
                  "$ref": "#/components/schemas/Id"
                },
                "amount_fen": {
                  "type": "integer"
                }
              }
            }
          }
        }
      },
      "EntryPage": {
        "type": "object",
        "required": [
          "account_id",
          "entries"
        ],
        "properties": {
          "account_id": {
            "$ref": "#/components/schemas/Id"
          },
          "entries": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Entry"
            }
          },
          "next_cursor": {
            "type": "string"
          }
        }
      },
      "Status": {
        "type": "object",
        "required": [
          "node_id",
          "role",
          "entries",
          "peers",
          "digest",
          "version_vector",
          "retired",
          "gossip_refusals",
          "version",
          "healthy",
          "seeds"
        ],
        "properties": {
          "node_id": {
            "$ref": "#/components/schemas/Id"
          },
          "role": {
            "type": "string",
            "enum": [
              "store",
              "hq"
            ]
          },
          "entries": {
            "type": "integer",
            "minimum": 0
          },
          "digest": {
            "type": "string",
            "description": "Equal on two nodes exactly when they hold the same entries."
          },
          "version_vector": {
            "type": "object",
            "additionalProperties": {
              "type": "integer"
            }
          },
          "peers": {
            "type": "array",
            "items": {
              "type": "object",
              "required": [
                "node_id",
                "address",
                "state"
              ],
              "properties": {
                "node_id": {
                  "$ref": "#/components/schemas/Id"
                },
                "address": {
                  "type": "string"
                },
                "state": {
                  "type": "string",
                  "enum": [
                    "alive",
                    "suspect",
                    "down"
                  ]
                },
                "lag_entries": {
                  "type": "integer",
                  "description": "Entries this node held that the peer lacked at the last exchange; absent before the first."
                },
                "last_contact": {
                  "type": "string",
                  "format": "date-time",
                  "description": "When the last exchange with the peer succeeded; absent if none has."
                },
                "last_error": {
                  "type": "string",
                  "description": "Why the last exchange with this peer failed, time first; absent once one succeeds."
                }
              }
            }
          },
          "retired": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Id"
            },
            "description": "Node ids retired from the cluster."
          },
          "gossip_refusals": {
            "type": "integer",
            "minimum": 0,
            "description": "Gossip connections refused: failed authentication (wrong cluster key), retired peers, forged frames."
          },
          "version": {
            "type": "string",
            "description": "The PointMesh release this node runs."
          },
          "healthy": {
            "type": "boolean",
            "description": "False while writes fail for a storage reason."
          },
          "storage_error": {
            "type": "string",
            "description": "Why writes are failing (only while `healthy` is false)."
          },
          "storage_failing_since": {
            "type": "string",
            "format": "date-time"
          },
          "seeds": {
            "type": "array",
            "description": "`--seed` addresses not yet tied to a node id.",
            "items": {
              "type": "object",
              "required": [
                "address"
              ],
              "properties": {
                "address": {
                  "type": "string"
                },
                "last_error": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    }
  }
}
"""#
}
