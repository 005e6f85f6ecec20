"""torch.distributions: parameterisable probability distributions and sampling functions, with
PyTorch's API (shapes, validation, log_prob/entropy/moments, reparameterised sampling,
transforms, constraints and KL divergences)."""
from framework.distributions import constraints, transforms
from framework.distributions.bernoulli import Bernoulli
from framework.distributions.cauchy import Cauchy
from framework.distributions.chi2 import Chi2
from framework.distributions.continuous_bernoulli import ContinuousBernoulli
from framework.distributions.fishersnedecor import FisherSnedecor
from framework.distributions.generalized_pareto import GeneralizedPareto
from framework.distributions.geometric import Geometric
from framework.distributions.gumbel import Gumbel
from framework.distributions.half_cauchy import HalfCauchy
from framework.distributions.half_normal import HalfNormal
from framework.distributions.inverse_gamma import InverseGamma
from framework.distributions.kumaraswamy import Kumaraswamy
from framework.distributions.lkj_cholesky import LKJCholesky
from framework.distributions.logistic_normal import LogisticNormal
from framework.distributions.lowrank_multivariate_normal import LowRankMultivariateNormal
from framework.distributions.mixture_same_family import MixtureSameFamily
from framework.distributions.negative_binomial import NegativeBinomial
from framework.distributions.pareto import Pareto
from framework.distributions.relaxed_bernoulli import RelaxedBernoulli
from framework.distributions.relaxed_categorical import RelaxedOneHotCategorical
from framework.distributions.studentT import StudentT
from framework.distributions.von_mises import VonMises
from framework.distributions.weibull import Weibull
from framework.distributions.wishart import Wishart
from framework.distributions.categorical import Categorical, OneHotCategorical, OneHotCategoricalStraightThrough
from framework.distributions.constraint_registry import biject_to, transform_to
from framework.distributions.dirichlet import Beta, Dirichlet
from framework.distributions.distribution import Distribution
from framework.distributions.exp_family import ExponentialFamily
from framework.distributions.exponential import Exponential, Laplace
from framework.distributions.gamma import Gamma
from framework.distributions.independent import Independent
from framework.distributions.kl import kl_divergence, register_kl
from framework.distributions import _kl_extra  # noqa: F401,E402  (registers the KL pairs of the families above)
from framework.distributions.multivariate_normal import MultivariateNormal
from framework.distributions.normal import Normal
from framework.distributions.poisson import Binomial, Multinomial, Poisson
from framework.distributions.transformed_distribution import LogNormal, TransformedDistribution
from framework.distributions.transforms import *  # noqa: F401,F403  (the transforms, as torch.distributions has them)
from framework.distributions.uniform import Uniform

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "ContinuousBernoulli", "Dirichlet",
           "Distribution", "Exponential", "ExponentialFamily", "FisherSnedecor", "Gamma", "GeneralizedPareto",
           "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "Independent", "InverseGamma", "Kumaraswamy",
           "LKJCholesky", "Laplace", "LogNormal", "LogisticNormal", "LowRankMultivariateNormal", "MixtureSameFamily",
           "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal", "OneHotCategorical",
           "OneHotCategoricalStraightThrough", "Pareto", "Poisson", "RelaxedBernoulli", "RelaxedOneHotCategorical",
           "StudentT", "TransformedDistribution", "Uniform", "VonMises", "Weibull", "Wishart", "biject_to",
           "kl_divergence", "register_kl", "transform_to", "constraints", "transforms"]
__all__.extend(transforms.__all__)
