/** The tool names users configure and agents call: public API (DESIGN.md). Changing this list is a breaking change. */
export const PUBLIC_TOOL_NAMES = [
  'generate_image',
  'get_generation',
  'list_models',
  'get_pricing',
  'account_status',
  'spend_report',
  'pixelmuse_list_images',
  'pixelmuse_update_image',
  'pixelmuse_delete_image',
  'pixelmuse_buy_credits',
];
