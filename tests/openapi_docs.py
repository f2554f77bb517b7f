"""OpenAPI documents the tests serve: the classic Petstore (expanded, 3.0) and a 3.1 document
with ``$ref``, ``oneOf``, type lists and ``examples``."""

from __future__ import annotations

# The shape of OpenAPI's own petstore-expanded.yaml example (3.0), as published.
PETSTORE = """\
openapi: "3.0.0"
info:
  version: 1.0.0
  title: Swagger Petstore
  description: >-
    A sample API that uses a petstore as an example to demonstrate features
    in the OpenAPI 3.0 specification
servers:
  - url: https://petstore.swagger.io/v2
paths:
  /pets:
    get:
      description: Returns all pets from the system that the user has access to
      operationId: findPets
      parameters:
        - name: tags
          in: query
          description: tags to filter by
          required: false
          style: form
          schema:
            type: array
            items:
              type: string
        - name: limit
          in: query
          description: maximum number of results to return
          required: false
          schema:
            type: integer
            format: int32
      responses:
        '200':
          description: pet response
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: '#/components/schemas/Pet'
        default:
          description: unexpected error
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Error'
    post:
      description: Creates a new pet in the store. Duplicates are allowed
      operationId: addPet
      requestBody:
        description: Pet to add to the store
        required: true
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/NewPet'
      responses:
        '200':
          description: pet response
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Pet'
        default:
          description: unexpected error
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Error'
  /pets/{id}:
    get:
      description: Returns a user based on a single ID, if the user does not have access to the pet
      operationId: find pet by id
      parameters:
        - name: id
          in: path
          description: ID of pet to fetch
          required: true
          schema:
            type: integer
            format: int64
      responses:
        '200':
          description: pet response
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Pet'
              example:
                id: 7
                name: Rex
                tag: dog
        default:
          description: unexpected error
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Error'
    delete:
      description: deletes a single pet based on the ID supplied
      operationId: deletePet
      parameters:
        - name: id
          in: path
          description: ID of pet to delete
          required: true
          schema:
            type: integer
            format: int64
      responses:
        '204':
          description: pet deleted
        default:
          description: unexpected error
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Error'
components:
  schemas:
    Pet:
      allOf:
        - $ref: '#/components/schemas/NewPet'
        - type: object
          required:
          - id
          properties:
            id:
              type: integer
              format: int64

    NewPet:
      type: object
      required:
        - name
      properties:
        name:
          type: string
        tag:
          type: string

    Error:
      type: object
      required:
      - code
      - message
      properties:
        code:
          type: integer
          format: int32
        message:
          type: string
"""

SHAPES_31 = """\
openapi: 3.1.0
info: {title: Shapes, version: "1.0"}
paths:
  /shapes:
    get:
      operationId: listShapes
      parameters:
        - name: kind
          in: query
          schema: {type: string, enum: [circle, square]}
        - name: X-Request-Id
          in: header
          required: true
          schema: {type: string, format: uuid}
      responses:
        "200":
          description: shapes
          content:
            application/json:
              schema:
                type: array
                minItems: 2
                items: {$ref: "#/components/schemas/Shape"}
    post:
      operationId: addShape
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Shape"}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Shape"}
              examples:
                circle:
                  value: {kind: circle, radius: 2.5}
                square:
                  value: {kind: square, side: 3}
  /shapes/{shapeId}:
    parameters:
      - name: shapeId
        in: path
        required: true
        schema: {type: string, format: uuid}
    get:
      operationId: getShape
      responses:
        "200":
          description: one shape
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Circle"}
components:
  schemas:
    Shape:
      oneOf:
        - $ref: "#/components/schemas/Circle"
        - $ref: "#/components/schemas/Square"
    Circle:
      type: object
      required: [kind, radius]
      properties:
        kind: {const: circle}
        radius: {type: number, exclusiveMinimum: 0}
        label: {type: [string, "null"]}
        id: {type: string, format: uuid}
        created: {type: string, format: date-time}
        owner: {type: string, format: email}
        size: {type: string, enum: [small, large]}
        tags: {type: array, minItems: 3, items: {type: string, minLength: 8}}
    Square:
      type: object
      required: [kind, side]
      properties:
        kind: {const: square}
        side: {type: integer, minimum: 1, maximum: 100}
"""

# Cookie parameters and a deepObject query parameter (issue 18).
PARAMS = """\
openapi: 3.1.0
info: {title: params, version: "1"}
paths:
  /items:
    get:
      parameters:
        - name: session
          in: cookie
          required: true
          schema: {type: string, minLength: 4}
        - name: page
          in: cookie
          schema: {type: integer, minimum: 1}
        - name: ids
          in: cookie
          explode: false
          schema: {type: array, items: {type: integer}}
        - name: filter
          in: query
          style: deepObject
          explode: true
          schema:
            type: object
            required: [status]
            additionalProperties: false
            properties:
              status: {type: string, enum: [active, gone]}
              size: {type: integer}
              tag: {type: array, items: {type: integer}}
      responses:
        "200": {description: ok}
"""
