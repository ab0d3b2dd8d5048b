/** What the Pixelmuse emulator sells: its models, their cost and speed, and the credit packages. */

export type Status = 'pending' | 'processing' | 'succeeded' | 'failed';
export type Visibility = 'public' | 'private';

export interface ModelSpec {
  id: string;
  name: string;
  description: string;
  credit_cost: number;
  supported_aspect_ratios: string[];
  is_pro: boolean;
  supports_image_input: boolean;
  strengths: string[];
  weaknesses: string[];
  /** Gemini-backed models answer inline (201 + data URI); Replicate-backed ones answer 202 and are polled. */
  mode: 'sync' | 'async';
}

export const ASPECT_RATIOS = [
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
];

export const MODELS: ModelSpec[] = [
  {
    id: 'flux-schnell',
    name: 'Flux Schnell',
    description:
      'Fast, low-cost generations from the distilled Flux model. Good for quick mockups and ideation.',
    credit_cost: 1,
    supported_aspect_ratios: ASPECT_RATIOS,
    is_pro: false,
    supports_image_input: false,
    strengths: ['Speed', 'Quick mockups', 'Ideation'],
    weaknesses: ['Text rendering', 'Fine detail'],
    mode: 'async',
  },
  {
    id: 'imagen-3',
    name: 'Imagen 3',
    description: "Google's photorealistic model. Handles complex compositions and natural lighting well.",
    credit_cost: 1,
    supported_aspect_ratios: ASPECT_RATIOS,
    is_pro: false,
    supports_image_input: false,
    strengths: ['Realistic photos', 'Complex compositions'],
    weaknesses: ['Typography'],
    mode: 'sync',
  },
  {
    id: 'nano-banana-pro',
    name: 'Nano Banana Pro',
    description:
      'Gemini image model with strong text rendering, real-time knowledge and multi-image editing.',
    credit_cost: 4,
    supported_aspect_ratios: ASPECT_RATIOS,
    is_pro: true,
    supports_image_input: true,
    strengths: ['Text rendering', 'Real-time info', 'Multi-image editing'],
    weaknesses: ['Cost'],
    mode: 'sync',
  },
  {
    id: 'nano-banana-2',
    name: 'Nano Banana 2',
    description: 'Fast Gemini image model for everyday generations and edits.',
    credit_cost: 1,
    supported_aspect_ratios: ASPECT_RATIOS,
    is_pro: false,
    supports_image_input: true,
    strengths: ['Speed', 'Image editing', 'Text rendering'],
    weaknesses: ['Less detail than Nano Banana Pro'],
    mode: 'sync',
  },
  {
    id: 'recraft-v4',
    name: 'Recraft V4',
    description: 'Design-oriented model with strong typography and layout.',
    credit_cost: 1,
    supported_aspect_ratios: ASPECT_RATIOS,
    is_pro: false,
    supports_image_input: false,
    strengths: ['Typography', 'Design', 'Composition'],
    weaknesses: ['Photorealism'],
    mode: 'async',
  },
  {
    id: 'recraft-v4-pro',
    name: 'Recraft V4 Pro',
    description: 'High-resolution Recraft for art direction and print-ready design.',
    credit_cost: 7,
    // Deliberately narrower so clients meet a model that refuses some ratios.
    supported_aspect_ratios: ['1:1', '16:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16'],
    is_pro: true,
    supports_image_input: false,
    strengths: ['High resolution', 'Art direction'],
    weaknesses: ['Cost', 'Slowest'],
    mode: 'async',
  },
];

export const DEFAULT_DELAYS: Record<string, number> = {
  'flux-schnell': 1500,
  'recraft-v4': 3000,
  'recraft-v4-pro': 6000,
};

export const PACKAGES = [
  {
    name: 'credit_pack',
    label: 'Credit Pack',
    credits: 100,
    bonus_credits: 0,
    price_usd: 10,
    price_cents: 1000,
  },
];

export const USD_PER_CREDIT = 0.1;
