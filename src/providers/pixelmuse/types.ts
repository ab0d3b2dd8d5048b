// Shapes from reference/pixelmuse-openapi.json. Fields the service is known to leave out or null
// (notes/pixelmuse.md §2: completed_at null on success, ids of several formats) are typed loosely.

export const PIXELMUSE_ASPECT_RATIOS = [
  '1:1',
  '16:9',
  '21:9',
  '3:2',
  '2:3',
  '4:5',
  '5:4',
  '3:4',
  '4:3',
  '9:16',
  '9:21',
] as const;
export type AspectRatio = (typeof PIXELMUSE_ASPECT_RATIOS)[number];
export type ImageStatus = 'pending' | 'processing' | 'succeeded' | 'failed' | 'canceled';
export type Visibility = 'public' | 'private';

export interface CreateImageRequest {
  prompt: string;
  model: string;
  aspect_ratio?: string;
  negative_prompt?: string;
  image_input?: string;
  visibility?: Visibility;
  [extra: string]: unknown;
}

export interface ImageObject {
  id: string;
  status: ImageStatus;
  model: string;
  prompt: string;
  /** An array by the spec; a bare string has been seen and must not be read character by character. */
  output: string[] | string | null;
  credits_charged?: number;
  visibility?: Visibility;
  error?: string | null;
  created_at?: string;
  completed_at?: string | null;
}

/** The 201 of a paid POST /images/generate (oas MppImageObject): synchronous, with what was charged. */
export interface MppImageObject {
  id: string;
  status: 'succeeded' | 'failed';
  model: string;
  prompt: string;
  output: string[] | null;
  visibility?: Visibility;
  price_usd?: number;
  price_cents?: number;
  payment_intent_id?: string;
  error?: string | null;
  created_at?: string;
  completed_at?: string | null;
}

export interface ModelObject {
  id: string;
  name: string;
  description?: string;
  credit_cost: number;
  supported_aspect_ratios?: string[];
  is_pro?: boolean;
  supports_image_input?: boolean;
  strengths?: string[];
  weaknesses?: string[];
}

/** Every field optional: an answer missing one (say, `credits`) must still print what it does have. */
export interface AccountResponse {
  user_id?: string;
  email?: string;
  plan?: string;
  credits?: { total?: number; subscription?: number; purchased?: number };
  rate_limit?: { requests_per_minute?: number };
}

export interface UsageResponse {
  period: { start: string; end: string };
  generations_count: number;
  credits_used: number;
  by_model: Array<{ model: string; count: number; credits: number }>;
}

export interface ListImagesResponse {
  data: ImageObject[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface ModelPricing {
  model: string;
  name: string;
  credit_cost: number;
  price_usd: number;
  price_cents: number;
  supports_image_input?: boolean;
}

export interface PricingResponse {
  usd_per_credit: number;
  models: ModelPricing[];
  updated_at?: string;
}

export interface CreditPackage {
  name: string;
  label: string;
  credits: number;
  bonus_credits: number;
  price_usd: number;
  price_cents: number;
}

export interface CheckoutResponse {
  checkout_url: string;
  session_id: string;
  package: { name: string; label: string; credits: number; bonus_credits: number; price_usd: number };
  expires_at: string | null;
}

/** The fields of GenerateImageRequest in Pixelmuse's OpenAPI: nothing else goes into a generation body. */
export const PIXELMUSE_GENERATE_FIELDS = [
  'prompt',
  'model',
  'aspect_ratio',
  'negative_prompt',
  'image_input',
  'visibility',
] as const;
