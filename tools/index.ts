import type { ToolDefinition } from './define.js';
import account_status from './account_status.js';
import generate_image from './generate_image.js';
import get_generation from './get_generation.js';
import get_pricing from './get_pricing.js';
import list_models from './list_models.js';
import modelslab_signup from './modelslab_signup.js';
import modelslab_verify_email from './modelslab_verify_email.js';
import modelslab_resend_verification from './modelslab_resend_verification.js';
import modelslab_login from './modelslab_login.js';
import modelslab_logout from './modelslab_logout.js';
import modelslab_profile from './modelslab_profile.js';
import modelslab_api_keys from './modelslab_api_keys.js';
import modelslab_usage from './modelslab_usage.js';
import pixelmuse_buy_credits from './pixelmuse_buy_credits.js';
import pixelmuse_login from './pixelmuse_login.js';
import pixelmuse_delete_image from './pixelmuse_delete_image.js';
import pixelmuse_list_images from './pixelmuse_list_images.js';
import pixelmuse_update_image from './pixelmuse_update_image.js';
import spend_report from './spend_report.js';
import modelslab_add_payment_method from './modelslab_add_payment_method.js';
import modelslab_payment_methods from './modelslab_payment_methods.js';
import modelslab_fund_wallet from './modelslab_fund_wallet.js';
import modelslab_wallet from './modelslab_wallet.js';
import modelslab_list_plans from './modelslab_list_plans.js';
import modelslab_subscribe from './modelslab_subscribe.js';
import modelslab_manage_subscription from './modelslab_manage_subscription.js';
import modelslab_create_payment_link from './modelslab_create_payment_link.js';
import modelslab_confirm_checkout from './modelslab_confirm_checkout.js';
import modelslab_payment_status from './modelslab_payment_status.js';
import modelslab_train_lora from './modelslab_train_lora.js';
import modelslab_training from './modelslab_training.js';
import modelslab_team from './modelslab_team.js';
import modelslab_invoices from './modelslab_invoices.js';
import modelslab_billing_info from './modelslab_billing_info.js';
import modelslab_coupon from './modelslab_coupon.js';
import modelslab_auto_funding from './modelslab_auto_funding.js';
import modelslab_reset_password from './modelslab_reset_password.js';

/** Every tool, in the order clients list them. The file name of each equals its tool name (a test checks). */
export const TOOLS = [
  generate_image,
  get_generation,
  list_models,
  get_pricing,
  account_status,
  spend_report,
  modelslab_signup,
  modelslab_verify_email,
  modelslab_resend_verification,
  modelslab_login,
  modelslab_logout,
  pixelmuse_login,
  modelslab_profile,
  modelslab_api_keys,
  modelslab_usage,
  pixelmuse_list_images,
  pixelmuse_update_image,
  pixelmuse_delete_image,
  pixelmuse_buy_credits,
  modelslab_add_payment_method,
  modelslab_payment_methods,
  modelslab_fund_wallet,
  modelslab_wallet,
  modelslab_list_plans,
  modelslab_subscribe,
  modelslab_manage_subscription,
  modelslab_create_payment_link,
  modelslab_confirm_checkout,
  modelslab_payment_status,
  modelslab_train_lora,
  modelslab_training,
  modelslab_team,
  modelslab_invoices,
  modelslab_billing_info,
  modelslab_coupon,
  modelslab_auto_funding,
  modelslab_reset_password,
] as unknown as ToolDefinition[];
