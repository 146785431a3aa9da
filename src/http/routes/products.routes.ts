import { Router } from 'express';
import { productInputSchema, skuSchema } from '../../domain/order-input.js';
import { notFound } from '../../domain/errors.js';
import type { ProductStore } from '../../domain/ports.js';
import { HttpProblem, zodIssues } from '../problem.js';
import { shopOf } from '../auth.js';

export function productsRouter(products: ProductStore): Router {
  const r = Router();

  r.put('/:sku', async (req, res) => {
    const sku = skuSchema.safeParse(req.params.sku);
    const body = productInputSchema.safeParse(req.body);
    const errors = [...(sku.success ? [] : zodIssues(sku.error, 'path.sku')), ...(body.success ? [] : zodIssues(body.error))];
    if (!sku.success || !body.success) throw new HttpProblem(400, 'validation_failed', 'the product is invalid', errors);
    const { product, created } = await products.upsert(shopOf(req).id, sku.data, body.data);
    res.status(created ? 201 : 200).json(product);
  });

  r.get('/:sku', async (req, res) => {
    const product = await products.get(shopOf(req).id, req.params.sku);
    if (!product) throw notFound('product');
    res.json(product);
  });

  return r;
}
