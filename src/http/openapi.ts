/**
 * The HTTP contract, published: GET /openapi.json (OpenAPI 3.1, from the routes' own schemas)
 * and GET /docs (Swagger UI, its assets served from this server: no CDN). docs/http-api.md.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { createRequire } from 'node:module';
import { Type } from 'typebox';
import { ROLES } from '../tenancy/roles.js';
import { Open, route } from './schemas/common.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string; description: string };

export async function registerOpenApi(app: FastifyInstance, opts: { docs: boolean }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'agent-ca',
        version: pkg.version,
        description: `${pkg.description}. Errors outside OCSP are RFC 9457 problem details with a stable \`code\` (ACA_ERR_*).`,
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: `A token from \`agent-ca token create\` or POST /api/v1/tokens (or AGENT_CA_ADMIN_TOKEN). Each operation's security requirement lists the roles it accepts (${ROLES.join(', ')}); another tenant's objects read as absent.`,
          },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  app.get(
    '/openapi.json',
    {
      schema: route({
        summary: 'This OpenAPI 3.1 document',
        tags: ['meta'],
        response: { 200: Open({ openapi: Type.String() }, 'the OpenAPI document') },
      }),
    },
    async () => app.swagger(),
  );
  if (opts.docs) await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { validatorUrl: null } });
}
